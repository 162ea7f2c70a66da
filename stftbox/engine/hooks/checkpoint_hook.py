"""mmengine's ``CheckpointHook`` with durable, relocatable checkpoint files
and metric names checked before the first epoch."""
import difflib
import os.path as osp
from typing import Dict, Iterator, List, Optional, Set, Tuple

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook as _MMCheckpointHook

from stftbox.registry import HOOKS
from ..checkpoint_files import (atomic_checkpoint_saving, local_path,
                                relative_to, write_last_checkpoint)

__all__ = ['CheckpointHook', 'DurableCheckpointHook', 'MetricKeyError', 'reported_metric_keys',
           'unknown_metric_key_message']


class MetricKeyError(ValueError):
    """A ``save_best`` or scheduler ``monitor`` key that validation never
    reports (one line naming the key, where it is set and the real keys)."""


def reported_metric_keys(metrics) -> Optional[Set[str]]:
    """The keys validation reports (``<prefix>/<name>``) for built metrics
    that declare their names (``metric_names``, e.g. ``GZSLMetric``); None
    when a metric does not declare them (then nothing can be checked).

    Args:
        metrics (list): ``BaseMetric`` objects (``Evaluator.metrics``).
    """
    keys = set()
    for metric in metrics or []:
        names = getattr(metric, 'metric_names', None)
        if not names:
            return None
        prefix = getattr(metric, 'prefix', None)
        keys |= {f'{prefix}/{n}' if prefix else n for n in names}
    return keys or None


def unknown_metric_key_message(where: str, key: str,
                               keys: Set[str]) -> Optional[str]:
    """One line when ``key`` (set at ``where``) is not in ``keys``, with the
    closest real key (case-insensitive); None when it is a real key."""
    if key in keys:
        return None
    lower = {k.lower(): k for k in keys}
    near = lower.get(key.lower()) or next(iter(difflib.get_close_matches(
        key.lower(), list(lower), n=1, cutoff=0.6)), None)
    hint = f"; did you mean '{lower[near] if near in lower else near}'?" \
        if near else ''
    return (f'{where}: {key!r} is not a metric validation reports '
            f'(it reports {", ".join(sorted(keys))}){hint}')


def _schedulers(param_schedulers) -> Iterator[Tuple[str, object]]:
    if isinstance(param_schedulers, dict):
        for name, group in param_schedulers.items():
            for i, s in enumerate(group):
                yield f'param_scheduler.{name}[{i}]', s
    else:
        for i, s in enumerate(param_schedulers or []):
            yield f'param_scheduler[{i}]', s


@HOOKS.register_module(name=['CheckpointHook', 'DurableCheckpointHook'])
class CheckpointHook(_MMCheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments; registered in the
    stftbox scope under the name ``CheckpointHook``, so every stftbox config
    gets it) that keeps a run's files usable after a crash or a move:

    * every checkpoint is written atomically (temporary file, then rename:
      :func:`~stftbox.engine.checkpoint_files.atomic_checkpoint_saving`),
      also with mmengine's plain ``Runner``; the new ``epoch_N.pth`` is
      complete before the oldest one (``max_keep_ckpts``) is deleted;
    * ``last_checkpoint`` is written atomically and names the checkpoint
      relative to the work dir; the checkpoint paths in the message hub
      (``last_ckpt``, ``best_ckpt``) are stored relative to the checkpoint
      folder, so a moved or copied work dir resumes from its own files;
    * a best checkpoint recorded by the run at another place (absolute path
      outside this folder) is never deleted there: the file of the same
      name in this folder is meant
      (:func:`~stftbox.engine.checkpoint_files.local_path`);
    * before the first epoch, ``save_best`` and the ``monitor`` of every
      parameter scheduler are checked against the keys the configured
      validation metrics report (:func:`reported_metric_keys`): ``gzsl/hm``
      stops at once with :class:`MetricKeyError` instead of after an epoch.

    Remote checkpoint folders (``backend_args``, ``file_client_args``) are
    left to mmengine.
    """

    def _local(self) -> bool:
        return self.file_client_args is None and isinstance(
            getattr(self, 'file_backend', None), LocalBackend)

    # --------------------------------------------------------------- start
    def before_train(self, runner) -> None:
        self.check_metric_keys(runner)
        super().before_train(runner)
        if not self._local():
            return
        if self.save_best is not None:
            if len(self.key_indicators) == 1:
                self.best_ckpt_path = local_path(self.out_dir,
                                                 self.best_ckpt_path)
            else:
                self.best_ckpt_path_dict = {
                    k: local_path(self.out_dir, v)
                    for k, v in self.best_ckpt_path_dict.items()}

    def check_metric_keys(self, runner) -> None:
        """Raise :class:`MetricKeyError` for a ``save_best`` /
        scheduler ``monitor`` key that validation does not report.

        Nothing is checked when the run does not validate or a metric does
        not declare its ``metric_names``.
        """
        loop = getattr(runner, '_val_loop', None)
        evaluator = getattr(loop, 'evaluator', None)
        keys = reported_metric_keys(getattr(evaluator, 'metrics', None))
        if not keys:
            return
        refs: List[Tuple[str, str]] = []
        if self.save_best is not None:
            for key in self.key_indicators:
                if key != 'auto':
                    refs.append(('default_hooks.checkpoint.save_best', key))
        for where, sched in _schedulers(runner.param_schedulers):
            monitor = getattr(sched, 'monitor', None)
            if isinstance(monitor, str):
                refs.append((f'{where}.monitor', monitor))
        problems = [m for m in (unknown_metric_key_message(w, k, keys)
                                for w, k in refs) if m]
        if problems:
            raise MetricKeyError('; '.join(problems))

    # -------------------------------------------------------------- saving
    def before_save_checkpoint(self, runner, checkpoint: Dict) -> None:
        """Store the checkpoint paths of the message hub relative to the
        checkpoint folder (the live message hub is not changed)."""
        if not self._local():
            return
        info = (checkpoint.get('message_hub') or {}).get('runtime_info')
        if not isinstance(info, dict):
            return
        for key in list(info):
            if key == 'last_ckpt' or key.startswith('best_ckpt'):
                info[key] = relative_to(self.out_dir, info[key])

    def _remove(self, path: str) -> None:
        if is_main_process() and self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif is_main_process() and self.file_backend.isdir(path):
            self.file_backend.rmtree(path)  # deepspeed saves folders

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        drop = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                drop = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with atomic_checkpoint_saving():
            runner.save_checkpoint(
                self.out_dir, filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args,
                **self.args)
        if drop is not None:  # only once the new one is complete
            self._remove(osp.join(self.out_dir,
                                  self.filename_tmpl.format(drop)))
        if is_main_process():
            write_last_checkpoint(runner.work_dir, self.last_ckpt)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with atomic_checkpoint_saving():
            super()._save_best_checkpoint(runner, metrics)


#: the name it is also registered under
DurableCheckpointHook = CheckpointHook
