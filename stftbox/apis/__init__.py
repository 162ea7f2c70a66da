"""Helpers for the tools and for using stftbox from Python."""
from .config_check import (ConfigCheckError, check_cfg_options,
                           check_config, merge_cfg_options)
from .report import format_scores, print_scores
from .protocol import run_protocol
from .work_dir_guard import WorkDirInUseError, check_work_dir
from .setup_env import register_all_modules, setup_cpu_distributed

__all__ = [
    'register_all_modules', 'setup_cpu_distributed', 'format_scores',
    'print_scores', 'run_protocol', 'check_config', 'check_cfg_options',
    'merge_cfg_options', 'ConfigCheckError', 'check_work_dir',
    'WorkDirInUseError'
]
