"""Row chunks for element-wise kernels that should stay in the CPU caches."""

__all__ = ['row_chunks']


def row_chunks(num: int, row_elements: int, chunk_elements: int) -> list:
    """Split ``num`` rows into consecutive ranges of about
    ``chunk_elements`` elements each.

    A hand-written kernel that makes several element-wise passes over
    independent rows (tokens, neurons) runs them chunk by chunk, so the
    operands of one chunk stay in the caches between passes.

    Args:
        num (int): number of rows ``N`` (>= 0).
        row_elements (int): elements per row.
        chunk_elements (int): target elements per chunk.

    Returns:
        list: ``[(start, end), ...]`` covering ``[0, num)`` in order, each
        of ``max(1, chunk_elements // row_elements)`` rows but the last;
        empty for ``num == 0``.
    """
    rows = max(1, chunk_elements // max(row_elements, 1))
    return [(c0, min(num, c0 + rows)) for c0 in range(0, num, rows)]
