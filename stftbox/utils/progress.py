"""Progress bars for the long steps (feature-cache conversion, surrogate
generation, archive extraction, evaluation): mmengine's ``ProgressBar``."""
import sys
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')


def track(iterable: Iterable[T], total: Optional[int] = None,
          enabled: bool = True, file=None) -> Iterator[T]:
    """Yield the items of ``iterable`` while mmengine's ``ProgressBar``
    shows ``done/total``, the rate and the ETA (one line, redrawn with
    ``\\r``, ended by a newline).

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
    from mmengine.utils import ProgressBar
    if total is None:
        total = len(iterable)  # type: ignore[arg-type]
    stream = file or sys.stdout
    bar = ProgressBar(int(total), file=stream)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        stream.write('\n')
        stream.flush()
