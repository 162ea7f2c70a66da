"""A run never overwrites another run's checkpoints.

mmengine writes ``epoch_N.pth``, ``best_*.pth`` and ``last_checkpoint``
straight into ``work_dir`` (only logs get a per-run ``<timestamp>/``
folder), so a second run with the same work dir -- e.g. running the README's
``python tools/train.py configs/stft_demo.py`` twice -- would overwrite the
first run's ``epoch_N.pth`` and leave two runs' ``best_*`` files side by
side. :func:`check_work_dir` moves the earlier run's checkpoints into that
run's own ``<timestamp>/`` folder (next to its logs) before a fresh start,
so the second run works and the first run's results stay, one folder per
run, as OpenMMLab users know from the logs.
"""
import contextlib
import glob
import os
import os.path as osp
import re
import time
from typing import List, Optional

__all__ = ['WorkDirInUseError', 'existing_checkpoints', 'check_work_dir',
           'run_folders']


class WorkDirInUseError(RuntimeError):
    """The earlier run's checkpoints in ``work_dir`` cannot be moved aside
    (e.g. a file of the same name is in the target folder); the message
    says which and how to go on (``--resume``, ``--force``,
    ``--work-dir``)."""


def existing_checkpoints(work_dir):
    """Checkpoint files (``*.pth``, ``last_checkpoint``) directly in
    ``work_dir``, sorted by name; empty if it does not exist."""
    if not work_dir or not osp.isdir(work_dir):
        return []
    files = glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        files.append(record)
    return sorted(osp.basename(f) for f in files)


def run_folders(work_dir: str) -> List[str]:
    """The per-run ``<timestamp>/`` folders mmengine makes in ``work_dir``
    (``YYYYmmdd_HHMMSS``), oldest first."""
    if not work_dir or not osp.isdir(work_dir):
        return []
    return sorted(d for d in os.listdir(work_dir)
                  if re.fullmatch(r'\d{8}_\d{6}', d)
                  and osp.isdir(osp.join(work_dir, d)))


def _stamp_seconds(name: str) -> float:
    return time.mktime(time.strptime(name, '%Y%m%d_%H%M%S'))


def _owner_folder(folder: str, files: List[str]) -> str:
    """The ``<timestamp>/`` folder of the run that wrote ``files``: the
    newest one started before its newest checkpoint was written; else a new
    one named after the oldest file's time."""
    paths = [osp.join(folder, f) for f in files]
    newest = max(osp.getmtime(p) for p in paths)
    started = [d for d in run_folders(folder)
               if _stamp_seconds(d) <= newest + 1]
    if started:
        return started[-1]
    oldest = min(osp.getmtime(p) for p in paths)
    return time.strftime('%Y%m%d_%H%M%S', time.localtime(oldest))


def check_work_dir(cfg, force=False) -> Optional[str]:
    """Keep an earlier run's checkpoints before a fresh training run.

    A run that resumes uses the checkpoints; a fresh run over a work dir
    that holds checkpoints moves them (``*.pth``, ``last_checkpoint``) into
    the earlier run's ``<work_dir>/<timestamp>/`` folder, where its logs
    are (:func:`_owner_folder`), and starts afresh; ``force`` deletes them
    instead. The file ``cfg.load_from`` points at (compared by
    ``realpath``) is never moved or deleted: a fresh run that starts from
    the weights of an earlier run in the same work dir keeps them (the line
    returned says so). In a distributed run rank 0 does it (env ``RANK``) before the
    Runner is built; no rank writes a checkpoint before the first epoch
    ends, which needs every rank.

    Args:
        cfg (mmengine.Config): the merged config (``work_dir``, ``resume``,
            ``default_hooks.checkpoint.out_dir``).
        force (bool): delete the earlier run's checkpoint files.

    Returns:
        str | None: one line saying where the earlier run's checkpoints
        went and which file ``load_from`` kept in place (None when nothing
        was moved or kept).

    Raises:
        WorkDirInUseError: the target folder already has a file of the same
            name (one line naming it and the ways on).
    """
    if cfg.get('resume'):
        return None
    load_from = cfg.get('load_from')
    kept_real = osp.realpath(load_from) if isinstance(load_from, str) and \
        load_from and '://' not in load_from else None
    if int(os.environ.get('RANK', 0)) != 0:
        return None  # rank 0 moves them (before any checkpoint is written)
    ckpt_hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    out_dir = ckpt_hook.get('out_dir') if isinstance(ckpt_hook, dict) \
        else None
    folders = [cfg.get('work_dir')]
    if out_dir:  # mmengine appends the work dir's name to out_dir
        folders.append(osp.join(out_dir, osp.basename(
            osp.normpath(cfg.get('work_dir') or ''))))
    said, kept_said = [], []
    for folder in folders:
        found = existing_checkpoints(folder)
        kept = [n for n in found
                if osp.realpath(osp.join(folder, n)) == kept_real]
        found = [n for n in found if n not in kept]
        if kept:
            kept_said.append(f'kept {osp.join(folder, kept[0])} in place '
                             '(load_from reads it)')
        if not found:
            continue
        if force:
            for name in found:
                with contextlib.suppress(FileNotFoundError):  # other rank
                    os.remove(osp.join(folder, name))
            continue
        try:
            target = _owner_folder(folder, found)
        except FileNotFoundError:  # another rank moved them meanwhile
            continue
        dest = osp.join(folder, target)
        clash = [n for n in found if osp.exists(osp.join(dest, n))]
        if clash:
            raise WorkDirInUseError(
                f'{folder} holds checkpoints of an earlier run ({found[0]}'
                f'{", ..." if len(found) > 1 else ""}) that cannot be moved '
                f'to {dest}/ ({clash[0]} is there already); pass --resume to '
                'continue that run, --force to delete them, or choose '
                'another --work-dir')
        os.makedirs(dest, exist_ok=True)
        moved = []
        for name in found:
            with contextlib.suppress(FileNotFoundError):  # other rank
                os.replace(osp.join(folder, name), osp.join(dest, name))
                moved.append(name)
        if moved:
            shown = ', '.join(moved[:3]) + (', ...' if len(moved) > 3 else '')
            said.append(f'{folder} held the checkpoints of an earlier run '
                        f'({shown}); moved them to {dest}/ next to its logs '
                        '(this run starts afresh; --resume continues a run)')
    if kept_said and said:
        said[-1] += ';'
    return ' '.join(said + kept_said) or None
