"""Atomic file writes: a file under its final name is always complete.

Every run artifact (checkpoints, ``last_checkpoint``, JSON results, result
dumps) is written to a temporary file in the same folder and then moved over
the final name with ``os.replace`` (atomic on POSIX and Windows within one
file system). A process killed, or a disk that fills up, in the middle of a
write leaves the previous file (or none), never a truncated one; the
temporary file is removed when the write fails.
"""
import contextlib
import json
import os
import os.path as osp
import tempfile
from typing import IO, Any, Iterator

__all__ = ['atomic_write', 'atomic_write_bytes', 'atomic_write_text',
           'atomic_torch_save', 'dump_json_atomic', 'atomic_write_path']


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb',
                 encoding: str = None) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on a clean exit it is flushed
    to disk and renamed to ``path``, on an exception it is removed and
    ``path`` is left as it was.

    The file gets the permissions a plain ``open(path, 'w')`` would give
    (``0o666`` less the umask; ``mkstemp`` alone makes ``0o600``).

    Args:
        path (str): the final file name (its folder is created).
        mode (str): ``'wb'`` or ``'w'``.
        encoding (str, optional): text encoding for ``'w'`` (default
            UTF-8).

    Yields:
        the open temporary file.

    Raises:
        ValueError: ``mode`` is not ``'w'`` / ``'wb'``.
        OSError: the folder cannot be written (the temporary file is
            removed first).
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got "
                         f'{mode!r}')
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                               suffix='.tmp', dir=folder)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        kwargs = {} if mode == 'wb' else dict(encoding=encoding or 'utf-8')
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write_path(path: str) -> Iterator[str]:
    """Like :func:`atomic_write`, for writers that open a file by name
    (``h5py.File``, ``np.savez(name)``): yields the name of an empty
    temporary file next to ``path``; on a clean exit it is fsynced, given
    the umask's permissions and renamed to ``path``, on an exception it is
    removed and ``path`` is left as it was.

    Args:
        path (str): the final file name (its folder is created).

    Yields:
        str: the temporary file name (close the file before the block
        ends).

    Raises:
        OSError: the folder cannot be written (the temporary file is
            removed first).
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                               suffix='.tmp', dir=folder)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`).

    Args:
        path (str): the final file name (its folder is created).
        data (bytes): the whole content.

    Raises:
        OSError: the folder cannot be written; ``path`` is left as it was.
    """
    with atomic_write(path, 'wb') as f:
        f.write(data)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: a temporary file in
    the same folder, ``fsync``, ``os.replace`` (:func:`atomic_write`).

    Args:
        path (str): the final file name (its folder is created).
        text (str): the whole content, encoded as UTF-8.

    Returns:
        None. Afterwards ``path`` holds exactly ``text``.

    Raises:
        OSError: the folder cannot be written; ``path`` is left as it was
            and the temporary file is removed.
        UnicodeEncodeError: ``text`` holds lone surrogates (nothing is
            written to ``path``).
    """
    with atomic_write(path, 'w') as f:
        f.write(text)


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)`` atomically (:func:`atomic_write`): a
    process killed mid-save leaves the previous file, never a truncated
    one.

    Args:
        obj: what ``torch.save`` takes (e.g. ``dict(state_dict=..., meta=
            ...)``).
        path (str): the final ``.pth`` file (its folder is created).

    Raises:
        OSError: the folder cannot be written; ``path`` is left as it was.
        pickle.PicklingError: ``obj`` cannot be saved (``path`` unchanged).
    """
    import torch
    with atomic_write(path, 'wb') as f:
        torch.save(obj, f)


def dump_json_atomic(obj: Any, path: str, indent: int = 2) -> None:
    """``json.dump(obj)`` to ``path`` atomically (a complete JSON file or
    the previous one, never half of one)."""
    with atomic_write(path, 'w') as f:
        json.dump(obj, f, indent=indent)
