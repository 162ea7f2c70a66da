"""The public inference surface (as ``mmpretrain.apis``): models by name
(:func:`list_models`, :func:`get_model`), a model from a config or a name
(:func:`init_model`) and zero-shot inference (:func:`inference_model`).
``register_all_modules`` is re-exported for scripts that build models from
configs; the tool plumbing lives in :mod:`stftbox.engine`."""
from stftbox.engine.setup_env import register_all_modules

from .inference import inference_model, init_model
from .model_zoo import get_model, list_models

__all__ = ['list_models', 'get_model', 'init_model', 'inference_model',
           'register_all_modules']
