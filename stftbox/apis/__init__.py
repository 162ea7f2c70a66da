"""The public inference surface (as ``mmpretrain.apis``): build a model
from a config or a zoo name and run zero-shot inference.
``register_all_modules`` is re-exported for scripts that build models from
configs; the tool plumbing lives in :mod:`stftbox.engine`."""
from stftbox.engine.setup_env import register_all_modules

from .inference import inference_model, init_model

__all__ = ['init_model', 'inference_model', 'register_all_modules']
