"""Progress bars: the one mechanism of stftbox, ``tqdm``. Downloads
(bytes), feature-cache conversion, surrogate generation, archive
extraction and evaluation (items) all draw their bar with
:func:`progress_bar` or :func:`track`."""
import contextlib
import sys
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')


def progress_bar(total: Optional[int], initial: int = 0,
                 desc: Optional[str] = None, unit: str = 'it',
                 file=None, enabled: bool = True, unit_scale: bool = False):
    """A ``tqdm`` bar (``done/total [elapsed<ETA, rate]``, redrawn in one
    line, ended by a newline when closed), or a no-op context when
    ``enabled`` is False.

    Args:
        total (int, optional): number of units; None: unknown.
        initial (int): units already done (e.g. a resumed download).
        desc (str, optional): prefix of the bar.
        unit (str): unit name (``'it'`` items, ``'B'`` bytes).
        file: stream (default ``sys.stdout`` for items, ``sys.stderr``
            for bytes, as tqdm).
        enabled (bool): False: return ``contextlib.nullcontext(None)``.
        unit_scale (bool): scale the unit (kB, MB, ...; binary for bytes).

    Returns:
        ``tqdm`` (use as a context manager; ``.update(n)``), or a null
        context yielding None.
    """
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm
    if file is None:
        file = sys.stderr if unit == 'B' else sys.stdout
    return tqdm(total=total, initial=initial, desc=desc, unit=unit,
                unit_scale=unit_scale,
                unit_divisor=1024 if unit == 'B' else 1000,
                file=file, dynamic_ncols=True, leave=True)


def track(iterable: Iterable[T], total: Optional[int] = None,
          enabled: bool = True, file=None) -> Iterator[T]:
    """Yield the items of ``iterable`` while a :func:`progress_bar` shows
    ``done/total``, the rate and the ETA.

    Args:
        iterable: the work items.
        total (int, optional): number of items (default ``len(iterable)``).
        enabled (bool): False: yield the items without a bar.
        file: stream (default ``sys.stdout``).

    Yields:
        the items of ``iterable``, in order.
    """
    if not enabled:
        yield from iterable
        return
    if total is None:
        total = len(iterable)  # type: ignore[arg-type]
    with progress_bar(int(total), file=file) as bar:
        for item in iterable:
            yield item
            bar.update(1)
