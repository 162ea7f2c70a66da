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


#: names that ``stftbox.apis`` exported before the tool plumbing moved to
#: :mod:`stftbox.engine` (0.2); kept importable for one release
_MOVED = {name: 'stftbox.engine' for name in (
    'setup_cpu_distributed', 'format_scores', 'print_scores', 'run_protocol',
    'load_config', 'add_config_dir_to_path', 'package_config_dir',
    'stftbox_config_scheme', 'build_runner', 'check_data', 'set_vis_backend',
    'check_config', 'check_cfg_options', 'merge_cfg_options',
    'ConfigCheckError', 'check_work_dir', 'WorkDirInUseError')}


def __getattr__(name):
    """Old import paths (``from stftbox.apis import build_runner``) keep
    working for one release, with a ``DeprecationWarning`` naming the new
    module.

    Raises:
        AttributeError: ``name`` is neither an API here nor a moved name.
    """
    if name not in _MOVED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib
    import warnings
    new = _MOVED[name]
    warnings.warn(f'stftbox.apis.{name} moved to {new}.{name}; import it '
                  f'from there', DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(new), name)
