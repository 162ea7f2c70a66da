"""A run never overwrites another run's checkpoints silently.

mmengine writes ``epoch_N.pth``, ``best_*.pth`` and ``last_checkpoint``
straight into ``work_dir`` (only logs get a per-run timestamped folder), so
a second run with the same work dir -- e.g. ``tools/dist_train.sh`` after a
single-process run of the same config -- overwrites the first run's
``epoch_N.pth`` and leaves two runs' ``best_*`` files side by side.
:func:`check_work_dir` refuses that start unless the run resumes or is
forced.
"""
import contextlib
import glob
import os
import os.path as osp

__all__ = ['WorkDirInUseError', 'existing_checkpoints', 'check_work_dir']


class WorkDirInUseError(RuntimeError):
    """``work_dir`` holds checkpoints of an earlier run; the message says
    which and how to go on (``--resume``, ``--force``, ``--work-dir``)."""


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


def check_work_dir(cfg, force=False):
    """Refuse to start a fresh training run over another run's checkpoints.

    Every rank of a distributed run makes the same check on the same
    folder before the Runner is built (no checkpoint is written before the
    first epoch ends), so all ranks stop together.

    Args:
        cfg (mmengine.Config): the merged config (``work_dir``, ``resume``,
            ``default_hooks.checkpoint.out_dir``).
        force (bool): start afresh: the earlier run's checkpoint files are
            deleted first (so no ``best_*`` of two runs lie side by side).

    Returns:
        None

    Raises:
        WorkDirInUseError: checkpoints exist, ``cfg.resume`` is false and
            ``force`` is false; one line naming the folder and files.
    """
    if cfg.get('resume'):
        return
    ckpt_hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    out_dir = ckpt_hook.get('out_dir') if isinstance(ckpt_hook, dict) \
        else None
    folders = [cfg.get('work_dir')]
    if out_dir:  # mmengine appends the work dir's name to out_dir
        folders.append(osp.join(out_dir, osp.basename(
            osp.normpath(cfg.get('work_dir') or ''))))
    for folder in folders:
        found = existing_checkpoints(folder)
        if found and force:
            for name in found:
                with contextlib.suppress(FileNotFoundError):  # other rank
                    os.remove(osp.join(folder, name))
        elif found:
            shown = ', '.join(found[:4]) + (', ...' if len(found) > 4 else '')
            raise WorkDirInUseError(
                f'{folder} already holds checkpoints of another run '
                f'({shown}); pass --resume to continue that run, --force to '
                'delete them and start afresh, or choose another --work-dir')
