"""``StftboxRunner``: mmengine's Runner with a quiet console."""
import copy
import inspect
import logging
import os.path as osp
from typing import List, Optional

from mmengine.runner import Runner

from stftbox.registry import RUNNERS
from stftbox.fileio.atomic_io import atomic_write_text
from .checkpoint_files import (atomic_checkpoint_saving, checkpoint_problem,
                               find_resumable_checkpoint)

#: starts of the messages that mmengine's Runner logs once at start-up
#: (system environment, the whole config, the hook order: ~320 lines; the
#: note on SyncBatchNorm, which stftbox models do not use)
STARTUP_DUMP_PREFIXES = (
    '\n' + '-' * 60 + '\nSystem environment:',
    'Config:\n',
    'Hooks will be executed in the following order',
    'Distributed training is not used, all SyncBatchNorm',
)


class FileOnlyStartupFilter(logging.Filter):
    """Drops the Runner's start-up dump (:data:`STARTUP_DUMP_PREFIXES`) from
    the handler it is attached to; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ''
        return not msg.startswith(STARTUP_DUMP_PREFIXES)


#: starts of the deprecation notes that mmengine 0.10 logs whenever its
#: checkpoint code creates the (unused, when ``file_client_args`` is None)
#: ``FileClient``: ``CheckpointHook.before_train`` and ``save_checkpoint``
DEPRECATION_NOTE_PREFIXES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class MMEngineDeprecationFilter(logging.Filter):
    """Drops mmengine's ``FileClient`` / ``HardDiskBackend`` deprecation
    notes (:data:`DEPRECATION_NOTE_PREFIXES`); every other record passes.

    mmengine 0.10 builds a deprecated ``FileClient`` in its checkpoint code
    in any case (kept for backward compatibility; the files go through
    ``get_file_backend(path, backend_args)``), so every run that saves a
    checkpoint logged both notes, which the user can do nothing about.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg if isinstance(record.msg, str) else ''
        return not msg.startswith(DEPRECATION_NOTE_PREFIXES)


class ResumeConfigError(ValueError):
    """The config's parameter schedulers cannot take the checkpoint's
    state (another number or type of schedulers)."""


def _flat(schedulers) -> Optional[list]:
    if schedulers is None:
        return None
    if isinstance(schedulers, dict):
        return [(f'param_scheduler.{k}[{i}]', s)
                for k, group in schedulers.items()
                for i, s in enumerate(group)]
    if not isinstance(schedulers, (list, tuple)):
        return None
    return [(f'param_scheduler[{i}]', s) for i, s in enumerate(schedulers)]


def _settings_of(sched) -> dict:
    """Constructor settings of a built scheduler that its state holds
    (``gamma``, ``milestones``, ``begin``, ``end``, ``monitor``, ...)."""
    names = set()
    for cls in type(sched).__mro__:
        init = cls.__dict__.get('__init__')
        if init is not None:
            names |= set(inspect.signature(init).parameters)
    # counters are the checkpoint's (where the schedule stands)
    names -= {'self', 'optimizer', 'verbose', 'args', 'kwargs', 'last_step'}
    state = sched.state_dict()
    return {k: copy.deepcopy(state[k]) for k in sorted(names) if k in state}


def scheduler_settings(schedulers) -> Optional[List[tuple]]:
    """``[(where, type name, settings)]`` of built schedulers (None when
    there are none): what the config asks for, taken before a resume
    loads the checkpoint's scheduler state."""
    flat = _flat(schedulers)
    if flat is None or not all(hasattr(s, 'state_dict') for _, s in flat):
        return None
    return [(w, type(s).__name__, _settings_of(s)) for w, s in flat]


def apply_config_schedule(schedulers, wanted: List[tuple],
                          ckpt_states=None) -> Optional[str]:
    """After ``Runner.resume`` loaded the checkpoint's scheduler states:
    put back every setting in which the config differs (``wanted``, from
    :func:`scheduler_settings` before the resume), keeping the counters
    (``last_step``, ...) of the checkpoint.

    Args:
        schedulers: the runner's ``param_schedulers`` (resumed).
        wanted: the config's settings.
        ckpt_states: ``checkpoint['param_schedulers']`` (to compare the
            number of schedulers; mmengine pairs them silently).

    Returns:
        str | None: one line naming the differing keys, or None.

    Raises:
        ResumeConfigError: another number or type of schedulers.
    """
    flat = _flat(schedulers)
    n_ckpt = (sum(len(v) for v in ckpt_states.values())
              if isinstance(ckpt_states, dict) else
              len(ckpt_states) if isinstance(ckpt_states, list) else None)
    if n_ckpt is not None and n_ckpt != len(flat):
        raise ResumeConfigError(
            f'resume: the config has {len(flat)} param_scheduler(s) '
            f'({", ".join(t for _, t, _ in wanted)}) but the checkpoint '
            f'{n_ckpt}; resume with the config it was trained with, or '
            'start from its weights with load_from and no --resume')
    changes = []
    for (where, typ, settings), (_, sched) in zip(wanted, flat):
        if type(sched).__name__ != typ:
            raise ResumeConfigError(f'resume: {where} is {typ} in the config '
                                    f'but {type(sched).__name__} in the '
                                    'checkpoint')
        resumed = _settings_of(sched)
        for key, value in settings.items():
            if key in resumed and resumed[key] != value:
                setattr(sched, key, copy.deepcopy(value))
                changes.append(f'{where}.{key} {resumed[key]!r} -> '
                               f'{value!r}')
    if not changes:
        return None
    return ('resume: the config changes the checkpoint\'s schedule; '
            'applying the config: ' + ', '.join(changes))


def optimizer_settings(optim_wrapper) -> Optional[List[dict]]:
    """Hyper-parameters of every parameter group of a built optimizer
    (``weight_decay``, ``betas``, ``eps``, ``initial_lr``, ...; not the
    current ``lr``, which the schedulers move), or None."""
    optimizer = getattr(optim_wrapper, 'optimizer', None)
    if optimizer is None or not hasattr(optimizer, 'param_groups'):
        return None
    return [{k: copy.deepcopy(v) for k, v in g.items()
             if k not in ('params', 'lr')} for g in optimizer.param_groups]


def apply_config_optimizer(optim_wrapper, wanted) -> List[str]:
    """After a resume loaded the checkpoint's optimizer state: put back the
    config's hyper-parameters (``wanted``, :func:`optimizer_settings` of
    the optimizer the config built) where they differ; the learning rate
    (``initial_lr``) stays the checkpoint's, and the returned text says so.

    Args:
        optim_wrapper (mmengine.optim.OptimWrapper): the resumed wrapper;
            its ``optimizer.param_groups`` are changed in place.
        wanted (list[dict] | None): per param group, the config's
            settings (``lr``, ``weight_decay``, ``betas``, ...;
            :func:`optimizer_settings`), as many as the optimizer has
            groups. None, or a different number of groups, changes nothing.

    Returns:
        list[str]: one entry per difference (empty when none), e.g.
        ``'optimizer param_groups[0].weight_decay 0.0 -> 0.01'``.

    Raises:
        Nothing of its own; the settings are copied (``copy.deepcopy``).
    """
    got = optimizer_settings(optim_wrapper)
    if got is None or wanted is None or len(got) != len(wanted):
        return []
    said = []
    groups = optim_wrapper.optimizer.param_groups
    for i, (want, have, group) in enumerate(zip(wanted, got, groups)):
        for key, value in want.items():
            if key not in have or have[key] == value:
                continue
            if key == 'initial_lr':
                said.append(f'optim_wrapper lr: the config\'s {value!r} is '
                            f'not applied, the run continues from the '
                            f'checkpoint\'s learning rate (initial '
                            f'{have[key]!r}; start a new run from its '
                            'weights with load_from and no --resume to '
                            'use it)')
                continue
            group[key] = copy.deepcopy(value)
            said.append(f'optimizer param_groups[{i}].{key} {have[key]!r} '
                        f'-> {value!r}')
    return said


def drop_persistence_without_workers(dataloader):
    """A dataloader config with ``persistent_workers`` off when it has no
    workers, as mmaction2 does (PR #1202): the shipped configs keep the
    val/test workers alive (``persistent_workers=True``), and setting only
    ``num_workers=0`` to debug is natural. A built ``DataLoader`` or a
    config without the conflict is returned unchanged; otherwise a copy.

    Args:
        dataloader (dict | DataLoader): e.g. ``cfg.val_dataloader``.

    Returns:
        the same kind of object.
    """
    if isinstance(dataloader, dict) and \
            not dataloader.get('num_workers', 0) and \
            dataloader.get('persistent_workers'):
        dataloader = copy.copy(dataloader)
        dataloader['persistent_workers'] = False
    return dataloader


@RUNNERS.register_module()
class StftboxRunner(Runner):
    """mmengine's ``Runner`` whose console shows what matters.

    The start-up dump (system environment, the config, the hook order) goes
    to the log file ``<work_dir>/<timestamp>/<timestamp>.log`` only; the
    console keeps everything else at ``log_level`` (training progress,
    validation results, warnings). Selected by ``runner_type =
    'StftboxRunner'`` (``configs/_base_/default_runtime.py``) and built with
    :func:`stftbox.engine.build_runner`. mmengine's deprecation notes on
    its own ``FileClient`` are dropped by a log filter
    (:class:`MMEngineDeprecationFilter`). Checkpoints are written
    atomically; ``--resume`` verifies the file and falls back to the newest
    complete checkpoint (:meth:`load_or_resume`); a resumed run follows the
    config's schedule (:meth:`resume`). A dataloader with
    ``num_workers=0`` runs without ``persistent_workers``
    (:func:`drop_persistence_without_workers`). Everything else is
    mmengine's.
    """

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """mmengine's ``Runner.build_dataloader`` after
        :func:`drop_persistence_without_workers` (``num_workers=0`` with a
        config's ``persistent_workers=True`` would stop with PyTorch's
        ValueError)."""
        return Runner.build_dataloader(
            drop_persistence_without_workers(dataloader), seed=seed,
            diff_rank_seed=diff_rank_seed)

    def save_checkpoint(self, *args, **kwargs):
        with atomic_checkpoint_saving():
            return super().save_checkpoint(*args, **kwargs)

    def dump_config(self) -> None:
        """mmengine's ``dump_config`` (``<work_dir>/<config name>``),
        written atomically."""
        from mmengine.dist import is_main_process
        if not is_main_process():
            return
        name = (osp.basename(self.cfg.filename) if self.cfg.filename
                else f'{self.timestamp}.py')
        if not name.endswith('.py'):
            return super().dump_config()
        atomic_write_text(osp.join(self.work_dir, name), self.cfg.pretty_text)

    # ------------------------------------------------------------- loading
    def load_or_resume(self) -> None:
        """mmengine's ``load_or_resume``, verifying the file first.

        * plain resume (``resume=True``, no ``load_from``): the checkpoint
          ``last_checkpoint`` names (relative to the work dir; an absolute
          path from another place maps to this folder), or -- when it is
          missing, truncated or corrupt -- the newest complete
          ``epoch_N.pth`` with one log line saying so
          (:func:`~stftbox.engine.checkpoint_files.find_resumable_checkpoint`);
        * ``load_from`` (with or without resume): a local file that is
          missing or not complete stops with one line.

        Raises:
            stftbox.fileio.CheckpointError: no complete checkpoint to
                resume from, or a damaged ``load_from``.
        """
        if self._has_loaded:
            return None
        from stftbox.fileio.safe_load import CheckpointError
        if self._resume and self._load_from is None:
            found = find_resumable_checkpoint(
                self.work_dir, log=lambda m: self.logger.warning(m))
            if found is not None:
                self._load_from = found
        elif self._load_from is not None and '://' not in str(
                self._load_from):
            problem = checkpoint_problem(str(self._load_from))
            if problem:
                what = 'resume' if self._resume else 'load_from'
                raise CheckpointError(f'{what}: {self._load_from} is '
                                      f'{problem}')
        return super().load_or_resume()

    def resume(self, filename, resume_optimizer=True,
               resume_param_scheduler=True, map_location='default'):
        """mmengine's ``resume``; the parameter schedulers then run with
        the config's settings (:func:`apply_config_schedule`): a changed
        ``gamma``/``end``/``milestones`` is applied and said in one line,
        never silently replaced by the checkpoint's. Likewise the
        optimizer's hyper-parameters (``weight_decay``, ``betas``, ...;
        :func:`apply_config_optimizer`); a changed learning rate is said
        (the run continues from the checkpoint's).

        Raises:
            ResumeConfigError: the config has another number of schedulers,
                or scheduler types, than the checkpoint.
        """
        wanted = scheduler_settings(self.param_schedulers)
        wanted_optim = optimizer_settings(self.optim_wrapper)
        self._resumed_scheduler_states = None
        super().resume(filename, resume_optimizer=resume_optimizer,
                       resume_param_scheduler=resume_param_scheduler,
                       map_location=map_location)
        if resume_param_scheduler and wanted is not None:
            line = apply_config_schedule(self.param_schedulers, wanted,
                                         self._resumed_scheduler_states)
            if line:
                self.logger.warning(line)
        if resume_optimizer:
            said = apply_config_optimizer(self.optim_wrapper, wanted_optim)
            if said:
                self.logger.warning('resume: the config changes the '
                                    "checkpoint's optimizer: "
                                    + '; '.join(said))

    def load_checkpoint(self, filename, map_location='cpu', strict=False,
                        revise_keys=[(r'^module.', '')]):  # noqa: B006
        checkpoint = super().load_checkpoint(
            filename, map_location=map_location, strict=strict,
            revise_keys=revise_keys)
        self._resumed_scheduler_states = checkpoint.get('param_schedulers')
        return checkpoint

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level, log_file, **kwargs)
        if not any(isinstance(f, MMEngineDeprecationFilter)
                   for f in logger.filters):
            logger.addFilter(MMEngineDeprecationFilter())
        for handler in logger.handlers:
            console = (isinstance(handler, logging.StreamHandler)
                       and not isinstance(handler, logging.FileHandler))
            if console and not any(isinstance(f, FileOnlyStartupFilter)
                                   for f in handler.filters):
                handler.addFilter(FileOnlyStartupFilter())
        return logger
