"""Progress bars: the one mechanism of stftbox, ``tqdm``. Downloads
(bytes), feature-cache conversion, surrogate generation, archive
extraction and evaluation (items) all draw their bar with
:func:`progress_bar` or :func:`track`.

On a terminal the bar is redrawn in place (``\r``). When the stream is not
a terminal (a pipe, ``nohup``, ``> log``, slurm's output file) redraws would
fill the file, so :class:`PlainProgress` writes one plain line when the bar
closes instead.
"""
import contextlib
import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')


def is_terminal(stream) -> bool:
    """True when ``stream`` is attached to a terminal (``isatty()``)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty / a closed stream
        return False


def _scaled(n: float, unit: str) -> str:
    if unit != 'B':
        return f'{n:.4g}'
    for prefix in ('', 'k', 'M', 'G', 'T'):
        if abs(n) < 1024 or prefix == 'T':
            return f'{n:.1f}{prefix}'
        n /= 1024.0


class PlainProgress:
    """The part of ``tqdm``'s interface stftbox uses (``update``, ``n``,
    ``total``, ``close``, context manager) without redraws: one line
    ``[desc: ]done/total [elapsed, rate unit/s]`` when it closes.

    Args:
        total (int, optional): number of units.
        initial (int): units already done.
        desc (str, optional): prefix of the line.
        unit (str): unit name (``'B'``: bytes, scaled binary).
        file: output stream.
    """

    def __init__(self, total=None, initial=0, desc=None, unit='it',
                 file=None):
        self.total, self.n = total, int(initial)
        self.desc, self.unit = desc, unit
        self.file = file or sys.stdout
        self._initial = self.n
        self._start = time.perf_counter()
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sec = max(time.perf_counter() - self._start, 1e-9)
        rate = (self.n - self._initial) / sec
        done = _scaled(self.n, self.unit)
        total = '?' if self.total is None else _scaled(self.total, self.unit)
        prefix = f'{self.desc}: ' if self.desc else ''
        self.file.write(f'{prefix}{done}/{total} [{sec:.0f}s, '
                        f'{_scaled(rate, self.unit)}{self.unit}/s]\n')
        self.file.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


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
        ``tqdm`` (use as a context manager; ``.update(n)``) on a terminal,
        :class:`PlainProgress` (no redraws, one line at the end) on any
        other stream, or a null context yielding None.
    """
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm
    if file is None:
        file = sys.stderr if unit == 'B' else sys.stdout
    if not is_terminal(file):
        return PlainProgress(total, initial=initial, desc=desc, unit=unit,
                             file=file)
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
