"""``StftboxRunner``: mmengine's Runner with a quiet console."""
import logging

from mmengine.runner import Runner

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
    (:class:`MMEngineDeprecationFilter`). Everything else is mmengine's.
    """

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
