"""Progress bars for the long steps (feature-cache conversion, surrogate
generation, archive extraction, evaluation).

On a terminal: mmengine's ``ProgressBar`` (one line redrawn with ``\\r``).
When the stream is not a terminal (a pipe, ``nohup``, ``> log``, slurm's
output file) redraws would fill the file, so :class:`PlainProgress` writes
one plain line when the work is done instead.
"""
import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')

__all__ = ['is_terminal', 'PlainProgress', 'progress_bar', 'track']


def is_terminal(stream) -> bool:
    """True when ``stream`` is attached to a terminal (``isatty()``)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty / closed stream
        return False


class PlainProgress:
    """A progress counter for non-terminal output: no redraws; one line
    ``done/total, rate, elapsed`` when the last item is done.

    Has the attributes of mmengine's ``ProgressBar`` that stftbox uses
    (``update()``, ``completed``, ``task_num``, ``file``).

    Args:
        task_num (int): number of items.
        file: output stream.
    """

    def __init__(self, task_num: int, file=None) -> None:
        self.task_num = int(task_num)
        self.file = file or sys.stdout
        self.completed = 0
        self._start = time.perf_counter()

    def update(self, num_tasks: int = 1) -> None:
        self.completed += num_tasks
        if self.completed == self.task_num:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            self.file.write(f'{self.completed}/{self.task_num}, '
                            f'{self.completed / elapsed:.1f} task/s, '
                            f'elapsed: {elapsed:.0f}s')
            self.file.flush()


def progress_bar(total: int, file=None):
    """mmengine's ``ProgressBar`` on a terminal, else :class:`PlainProgress`.

    Args:
        total (int): number of items.
        file: stream (default ``sys.stdout``).

    Returns:
        an object with ``update()``, ``completed``, ``task_num``, ``file``;
        the caller ends the line with ``file.write('\\n')``.
    """
    stream = file or sys.stdout
    if is_terminal(stream):
        from mmengine.utils import ProgressBar
        return ProgressBar(int(total), file=stream)
    return PlainProgress(int(total), file=stream)


def track(iterable: Iterable[T], total: Optional[int] = None,
          enabled: bool = True, file=None) -> Iterator[T]:
    """Yield the items of ``iterable`` while :func:`progress_bar` shows
    ``done/total`` (on a terminal: the rate and ETA on one line redrawn with
    ``\\r``; otherwise one plain line at the end).

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
    stream = file or sys.stdout
    bar = progress_bar(int(total), file=stream)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        if is_terminal(stream) or bar.completed == bar.task_num:
            stream.write('\n')
        stream.flush()
