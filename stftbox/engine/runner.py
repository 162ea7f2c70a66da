"""``StftboxRunner``: mmengine's Runner with a quiet console."""
import contextlib
import copy
import logging
from typing import Iterator

from mmengine.fileio import FileClient
from mmengine.hooks import checkpoint_hook as _mm_checkpoint_hook
from mmengine.runner import Runner
from mmengine.runner import checkpoint as _mm_checkpoint

from stftbox.registry import RUNNERS

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


class _FileClientOnRequest:
    """``FileClient`` for mmengine's checkpoint code that creates one only
    when ``file_client_args`` are given (then it is mmengine's own)."""

    def __new__(cls, *args, **kwargs):
        return FileClient(*args, **kwargs)

    @staticmethod
    def infer_client(file_client_args=None, uri=None):
        if file_client_args is None:
            return None
        return FileClient.infer_client(file_client_args, uri)


@contextlib.contextmanager
def file_client_on_request() -> Iterator[None]:
    """Inside, mmengine's ``CheckpointHook.before_train`` and
    ``save_checkpoint`` build no ``FileClient`` unless ``file_client_args``
    are given.

    mmengine 0.10 creates a deprecated ``FileClient`` there in any case
    (kept for backward compatibility, unused when ``file_client_args`` is
    None: the files go through ``get_file_backend(path, backend_args)``);
    creating it logs ``"FileClient" will be deprecated`` and
    ``"HardDiskBackend" is the alias of "LocalBackend"`` in every run that
    saves a checkpoint.
    """
    modules = (_mm_checkpoint_hook, _mm_checkpoint)
    saved = [m.FileClient for m in modules]
    try:
        for m in modules:
            m.FileClient = _FileClientOnRequest
        yield
    finally:
        for m, value in zip(modules, saved):
            m.FileClient = value


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
    :func:`stftbox.apis.build_runner`. Checkpoints are written without
    mmengine's deprecated ``FileClient`` (:func:`file_client_on_request`),
    so its deprecation warnings do not appear. A dataloader with
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

    def train(self):
        with file_client_on_request():
            return super().train()

    def save_checkpoint(self, *args, **kwargs):
        with file_client_on_request():
            return super().save_checkpoint(*args, **kwargs)

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level, log_file, **kwargs)
        for handler in logger.handlers:
            console = (isinstance(handler, logging.StreamHandler)
                       and not isinstance(handler, logging.FileHandler))
            if console and not any(isinstance(f, FileOnlyStartupFilter)
                                   for f in handler.filters):
                handler.addFilter(FileOnlyStartupFilter())
        return logger
