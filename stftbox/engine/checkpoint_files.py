"""Checkpoint files of a run that survive being moved, copied, interrupted
or written half.

* :func:`atomic_checkpoint_saving`: inside it, every checkpoint mmengine's
  ``Runner.save_checkpoint`` writes to a local folder goes to a temporary
  file first and is renamed to its final name when complete
  (:mod:`stftbox.fileio.atomic_io`), so a process killed or a disk that fills
  up while ``epoch_N.pth`` is (re)written leaves the previous file, never a
  truncated one.
* :func:`checkpoint_problem`: why a file cannot be loaded (missing,
  truncated, corrupt, not a checkpoint), checked cheaply before a resume or
  ``load_from`` reads it: the format rules of
  :func:`stftbox.fileio.safe_load.check_checkpoint_file` plus the zip CRCs.
* :func:`relative_to`, :func:`local_path`: what a run records
  (``last_checkpoint``, the best checkpoint in the message hub) is relative
  to its folder, and a recorded absolute path from another place (a moved
  or copied work dir) is mapped to the file of the same name in this
  folder. Only :func:`find_resumable_checkpoint` reads the recorded
  location itself, and only when this folder has no such file and the
  recorded one exists (checkpoints kept in a ``CheckpointHook.out_dir``);
  a recorded location is never overwritten or deleted.
* :func:`find_resumable_checkpoint`: what plain ``--resume`` continues
  from: the file ``last_checkpoint`` names if it is complete, else the
  newest complete ``epoch_N.pth`` / ``iter_N.pth`` (saying so).
"""
import contextlib
import os
import os.path as osp
import re
import zipfile
from typing import Callable, Iterator, List, Optional, Tuple

from stftbox.fileio.atomic_io import atomic_write

__all__ = ['atomic_checkpoint_saving', 'checkpoint_problem', 'relative_to',
           'local_path', 'numbered_checkpoints', 'find_resumable_checkpoint',
           'write_last_checkpoint', 'LAST_CHECKPOINT']

#: mmengine's record of the newest checkpoint, in the work dir
LAST_CHECKPOINT = 'last_checkpoint'


def _is_local(path) -> bool:
    return '://' not in str(path)


def _atomic_save_checkpoint(original: Callable) -> Callable:
    """``mmengine.runner.checkpoint.save_checkpoint`` that writes a local
    file through a temporary name (same arguments)."""

    def save_checkpoint(checkpoint, filename, file_client_args=None,
                        backend_args=None):
        if file_client_args is not None or backend_args is not None or \
                not _is_local(filename):
            return original(checkpoint, filename,
                            file_client_args=file_client_args,
                            backend_args=backend_args)
        import torch
        with atomic_write(str(filename), 'wb') as f:
            torch.save(checkpoint, f)

    save_checkpoint.stftbox_atomic = True
    return save_checkpoint


@contextlib.contextmanager
def atomic_checkpoint_saving() -> Iterator[None]:
    """Inside, ``Runner.save_checkpoint`` (mmengine's, any runner class)
    writes local checkpoints atomically: temporary file in the same folder,
    ``fsync``, ``os.replace``. Remote backends (``backend_args``,
    ``s3://``...) are left to mmengine. Nesting is harmless."""
    from mmengine.runner import runner as mm_runner
    saved = mm_runner.save_checkpoint
    if getattr(saved, 'stftbox_atomic', False):
        yield
        return
    mm_runner.save_checkpoint = _atomic_save_checkpoint(saved)
    try:
        yield
    finally:
        mm_runner.save_checkpoint = saved


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete checkpoint, or None.

    The format rules are those of every other load
    (:func:`stftbox.fileio.safe_load.check_checkpoint_file`: a ``torch.save``
    zip holding ``data.pkl``, the legacy torch magic, or a safetensors
    file; a plain pickle, an HTML page, an empty file are refused), and on
    top of them a zip's members must all match their CRCs
    (``ZipFile.testzip``; one read of the file), which is what a truncated
    or damaged ``torch.save`` file fails on. Nothing is unpickled.

    Args:
        path (str): a local checkpoint file.

    Returns:
        str | None: None when complete, else what is wrong, e.g.
        ``'missing'``, ``'not a readable checkpoint: the zip container is
        truncated or corrupt (...)'``, ``'corrupt (member data/3 fails its
        CRC)'``.
    """
    from stftbox.fileio.safe_load import CheckpointError, \
        check_checkpoint_file
    if not osp.isfile(path):
        return 'missing'
    try:
        kind = check_checkpoint_file(path)
    except FileNotFoundError:
        return 'missing'
    except CheckpointError as exc:
        msg = str(exc)
        prefix = f'{path}: '
        msg = msg[len(prefix):] if msg.startswith(prefix) else msg
        # the advice is for downloads; a run's own file is not downloaded
        return msg[:-len('; download it again')] \
            if msg.endswith('; download it again') else msg
    if kind != 'zip':
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        return f'unreadable ({type(exc).__name__}: {exc})'
    if bad is not None:
        return f'corrupt (member {bad} fails its CRC)'
    return None


def relative_to(folder: str, path: Optional[str]) -> Optional[str]:
    """``path`` relative to ``folder`` when it lies inside it (what a run
    records about its own files), else ``path`` unchanged."""
    if not path or not _is_local(path) or not _is_local(folder):
        return path
    rel = osp.relpath(osp.abspath(path), osp.abspath(folder))
    return path if rel.startswith(os.pardir) else rel


def local_path(folder: str, recorded: Optional[str]) -> Optional[str]:
    """Where a recorded file of a run is now: a relative record is joined to
    ``folder``; an absolute one inside ``folder`` is kept; an absolute one
    elsewhere (the run was moved or copied) becomes the file of the same
    name in ``folder``. This function touches no file; the one caller that
    may fall back to the recorded location is
    :func:`find_resumable_checkpoint` (see there)."""
    if not recorded:
        return None
    if not _is_local(recorded) or not _is_local(folder):
        return recorded
    if not osp.isabs(recorded):
        return osp.join(folder, recorded)
    if relative_to(folder, recorded) != recorded:
        return recorded
    return osp.join(folder, osp.basename(recorded))


def numbered_checkpoints(folder: str) -> List[Tuple[int, str]]:
    """``(N, path)`` of ``epoch_N.pth`` / ``iter_N.pth`` in ``folder``,
    newest (highest N) first."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        m = re.fullmatch(r'(?:epoch|iter)_(\d+)\.pth', name)
        if m:
            found.append((int(m.group(1)), osp.join(folder, name)))
    return sorted(found, reverse=True)


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Write ``<work_dir>/last_checkpoint`` atomically, naming
    ``checkpoint`` relative to ``work_dir`` (so the folder can move)."""
    with atomic_write(osp.join(work_dir, LAST_CHECKPOINT), 'w') as f:
        f.write(relative_to(work_dir, checkpoint))


def find_resumable_checkpoint(work_dir: str,
                              log: Callable[[str], None] = print
                              ) -> Optional[str]:
    """The checkpoint plain ``--resume`` continues from.

    ``<work_dir>/last_checkpoint`` names it (relative, or an absolute path
    mapped with :func:`local_path`: the file of the same name in this work
    dir when it is there -- a moved or copied run --, else the absolute
    path itself, e.g. checkpoints kept in a ``CheckpointHook.out_dir``). When that file is missing or not
    complete (:func:`checkpoint_problem`), the newest complete
    ``epoch_N.pth`` / ``iter_N.pth`` of ``work_dir`` is used and ``log``
    gets one line saying so.

    Args:
        work_dir (str): the run's folder.
        log (callable): takes one message line.

    Returns:
        str | None: the checkpoint; None when the folder holds no record and
        no numbered checkpoint (nothing to resume: a fresh start).

    Raises:
        stftbox.utils.CheckpointError: a record or checkpoints exist but
            none is complete (one line naming the files and what is wrong).
    """
    from stftbox.fileio.safe_load import CheckpointError
    record = osp.join(work_dir, LAST_CHECKPOINT)
    named, why = None, None
    if osp.isfile(record):
        with open(record, encoding='utf-8', errors='replace') as f:
            content = f.read().strip()
        named = local_path(work_dir, content) if content else None
        if named is None:
            why = f'{record} is empty'
        else:
            if osp.isabs(content) and named != content:
                if osp.isfile(named) or not osp.isfile(content):
                    log(f'resume: last_checkpoint names {content}, outside '
                        f'this work dir (moved or copied); using {named}')
                else:  # checkpoints kept elsewhere (CheckpointHook out_dir)
                    named = content
            problem = checkpoint_problem(named)
            if problem is None:
                return named
            why = f'{named} (named by last_checkpoint) is {problem}'
    candidates = [p for _, p in numbered_checkpoints(work_dir)
                  if named is None or osp.abspath(p) != osp.abspath(named)]
    if why is None and not candidates:
        return None
    for path in candidates:
        if checkpoint_problem(path) is None:
            log(f'resume: {why or "no last_checkpoint record"}; resuming '
                f'from {osp.basename(path)}, the newest complete checkpoint')
            return path
    checked = ', '.join(osp.basename(p) for p in candidates) or 'none'
    raise CheckpointError(
        f'resume: {why or "no last_checkpoint record"}, and no other '
        f'complete checkpoint in {work_dir} (checked: {checked}); start '
        'afresh with --force or another --work-dir')
