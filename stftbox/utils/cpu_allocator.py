"""glibc allocator settings for CPU training and inference.

glibc's ``malloc`` serves every block above its mmap threshold (at most
32 MB when it adapts on its own) with a fresh ``mmap`` and gives it back with
``munmap`` on free, so each new large tensor is zero-filled page by page on
first touch. STFT's SNN branch at the paper's widths works on tensors of
``T x B x L x d = 10 x 64 x 26 x 512`` floats (34 MB): measured on a 2-core
CPU, a fresh element-wise product of two such tensors takes 15.6 ms, against
2.8 ms once large blocks are reused from the heap (one paper-width STFT
inference step at batch 64: 1.56 s -> 0.74 s; a training step 5.7 s ->
2.4 s; TCaF, whose tensors are smaller, is unchanged). This is the advice of
PyTorch's CPU performance guides (use an allocator that keeps freed memory,
e.g. jemalloc / tcmalloc), applied with glibc's own ``mallopt``.
"""
import ctypes
import ctypes.util
import os
import sys

__all__ = ['tune_cpu_allocator', 'ALLOCATOR_ENV', 'tune_if_requested']

#: ``1``: the tools tune the allocator (as ``--tune-malloc``); ``0``: never,
#: not even when a tool is asked to
ALLOCATOR_ENV = 'STFTBOX_MALLOC_TUNING'

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_DONE = {}


def tune_cpu_allocator(threshold_bytes: int = 1 << 30) -> bool:
    """Raise glibc's mmap and trim thresholds so that freed large tensors are
    reused instead of unmapped (see the module docstring for the numbers).

    An explicit opt-in: importing stftbox, ``register_all_modules`` and
    ``init_model`` never call it; the tools do when asked
    (``tools/train.py --tune-malloc``, ``tools/test.py --tune-malloc``,
    ``benchmark.py --tune-malloc``, or ``STFTBOX_MALLOC_TUNING=1``; see
    :func:`tune_if_requested`). It changes only where memory comes from,
    never a value: outputs are bit-identical. Freed memory then stays with
    the process (its RSS no longer shrinks after a peak). The setting is
    process-wide, which is why a library never makes it for you. Does nothing
    (returns False) off Linux glibc, when ``STFTBOX_MALLOC_TUNING=0``, or
    when the environment sets ``MALLOC_MMAP_THRESHOLD_``,
    ``MALLOC_TRIM_THRESHOLD_`` or a ``glibc.malloc`` entry of
    ``GLIBC_TUNABLES`` (the user's own choice wins).

    Args:
        threshold_bytes (int): the new thresholds in bytes, in
            ``[1, 2**31 - 1]``. Default 1 GiB.

    Returns:
        bool: whether glibc accepted both settings.

    Raises:
        ValueError: ``threshold_bytes`` outside ``[1, 2**31 - 1]``.
    """
    if not 1 <= threshold_bytes <= 2**31 - 1:
        raise ValueError('threshold_bytes must be in [1, 2**31 - 1] (a C '
                         f'int), got {threshold_bytes}')
    if (os.environ.get(ALLOCATOR_ENV) == '0'
            or 'MALLOC_MMAP_THRESHOLD_' in os.environ
            or 'MALLOC_TRIM_THRESHOLD_' in os.environ
            or 'glibc.malloc' in os.environ.get('GLIBC_TUNABLES', '')
            or not sys.platform.startswith('linux')):
        return False
    if threshold_bytes in _DONE:
        return _DONE[threshold_bytes]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # not glibc (e.g. musl)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, threshold_bytes)) and bool(
        mallopt(_M_TRIM_THRESHOLD, threshold_bytes))
    _DONE[threshold_bytes] = ok
    return ok


def tune_if_requested(flag: bool = False) -> bool:
    """The tools' opt-in: tune the allocator when ``flag`` (a tool's
    ``--tune-malloc``) is set or the environment has
    ``STFTBOX_MALLOC_TUNING=1``; ``STFTBOX_MALLOC_TUNING=0`` always wins.

    Args:
        flag (bool): the tool's command-line switch. Default False.

    Returns:
        bool: whether the allocator was tuned (:func:`tune_cpu_allocator`).
    """
    if flag or os.environ.get(ALLOCATOR_ENV) == '1':
        return tune_cpu_allocator()
    return False
