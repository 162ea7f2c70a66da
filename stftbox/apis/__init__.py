"""Helpers for the tools and for using stftbox from Python."""
from .inference import inference_model, init_model
from .config_loader import (add_config_dir_to_path, load_config,
                            package_config_dir, stftbox_config_scheme)
from .report import format_scores, print_scores
from .protocol import run_protocol
from .runtime import build_runner, check_data, set_vis_backend
from .config_check import (ConfigCheckError, check_cfg_options,
                           check_config, merge_cfg_options)
from .work_dir_guard import WorkDirInUseError, check_work_dir
from .setup_env import register_all_modules, setup_cpu_distributed

__all__ = [
    'register_all_modules', 'setup_cpu_distributed', 'format_scores',
    'print_scores', 'run_protocol', 'init_model', 'inference_model',
    'load_config', 'add_config_dir_to_path',
    'package_config_dir', 'stftbox_config_scheme', 'build_runner',
    'check_data', 'set_vis_backend',
    'check_config', 'check_cfg_options',
    'merge_cfg_options', 'ConfigCheckError', 'check_work_dir',
    'WorkDirInUseError'
]
