"""Helpers for the tools and for using stftbox from Python."""
from .inference import inference_model, init_model
from .report import format_scores, print_scores
from .protocol import run_protocol
from .setup_env import register_all_modules, setup_cpu_distributed

__all__ = [
    'register_all_modules', 'setup_cpu_distributed', 'format_scores',
    'print_scores', 'run_protocol', 'init_model', 'inference_model'
]
