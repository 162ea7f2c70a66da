"""Runtime pieces for the mmengine Runner and the tools: hooks, the runner,
building a run from a config (config loading and checking, data checks,
the work-dir guard, the run environment record), the two-stage protocol and
the score report. Importing this package also allow-lists the few classes
that mmengine checkpoints hold, so that weights-only loading (torch >= 2.6)
works for resume and load_from."""
from stftbox.fileio import register_safe_globals

from . import hooks  # noqa: F401
from .config_check import (ConfigCheckError, check_cfg_options,
                           check_config, merge_cfg_options)
from .config_loader import (add_config_dir_to_path, load_config,
                            package_config_dir, stftbox_config_scheme)
from .protocol import run_protocol
from .report import format_scores, print_scores
from .runner import StftboxRunner  # noqa: F401
from .runtime import build_runner, check_data, set_vis_backend
from .setup_env import register_all_modules, setup_cpu_distributed
from .work_dir_guard import WorkDirInUseError, check_work_dir

register_safe_globals()

__all__ = [
    'StftboxRunner', 'register_all_modules', 'setup_cpu_distributed',
    'format_scores', 'print_scores', 'run_protocol', 'load_config',
    'add_config_dir_to_path', 'package_config_dir', 'stftbox_config_scheme',
    'build_runner', 'check_data', 'set_vis_backend', 'check_config',
    'check_cfg_options', 'merge_cfg_options', 'ConfigCheckError',
    'check_work_dir', 'WorkDirInUseError'
]
