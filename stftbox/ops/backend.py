"""Backend choice of the ops, in spikingjelly's convention.

Every op in :mod:`stftbox.ops` has a plain ``'torch'`` reference, written as
the paper reads, and may have a ``'fused'`` kernel (hand-written forward and
backward, same values and gradients up to float rounding). ``'auto'`` (the
default everywhere) runs the fused kernel where it applies and the
reference otherwise. Each op lists its ``supported_backends``.
"""
__all__ = ['BACKENDS', 'check_backend', 'use_fused']

#: the values a ``backend`` argument takes
BACKENDS = ('auto', 'torch', 'fused')


def check_backend(backend: str, supported=('torch', 'fused'),
                  where: str = 'backend') -> str:
    """Validate a ``backend`` argument.

    Args:
        backend (str): ``'auto'``, or one of ``supported``.
        supported (Sequence[str]): the op's ``supported_backends``.
        where (str): name used in the error message.

    Returns:
        str: ``backend``.

    Raises:
        ValueError: ``backend`` is neither ``'auto'`` nor in ``supported``.
    """
    if backend != 'auto' and backend not in supported:
        raise ValueError(f"{where} must be 'auto' or one of "
                         f'{tuple(supported)}, got {backend!r}')
    return backend


def use_fused(backend: str, applies: bool, where: str = 'op') -> bool:
    """Whether to run the fused kernel.

    Args:
        backend (str): ``'auto'``, ``'torch'`` or ``'fused'``.
        applies (bool): whether the kernel covers this call (shapes,
            options, device).

    Returns:
        bool: ``'torch'`` -> False; ``'auto'`` -> ``applies``; ``'fused'``
        -> True when it applies.

    Raises:
        NotImplementedError: ``'fused'`` asked for a call it does not cover
            (as spikingjelly raises for an unsupported backend).
    """
    if backend == 'torch':
        return False
    if backend == 'fused' and not applies:
        raise NotImplementedError(
            f"{where}: backend='fused' does not cover this call (see its "
            "docstring); use backend='auto' or 'torch'")
    return bool(applies)
