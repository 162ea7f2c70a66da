"""Registries of stftbox, children of mmengine's root registries.

Every component that a config names by ``type=`` is registered here. Each
registry sets ``locations`` so that ``Registry.build`` imports the modules that
register into it; a config therefore needs no manual imports.

The tree follows the paper's figure (Li et al., STFT, IEEE TIP 2024, Fig. 2):
``NEURONS`` -> ``POOLINGS`` -> ``MODELS`` (backbones: SNN branch, transformer
branch) -> ``FUSIONS`` -> ``MODELS`` (heads, losses, classifiers).
``NEURONS``, ``POOLINGS`` and ``FUSIONS`` are children of ``MODELS``: a type
registered in one of them is also found by ``MODELS.build`` (mmengine searches
children under their scope prefix, e.g. ``MODELS.build(dict(type=
'fusions.TuckerFusion'))``); building from the child registry itself needs no
prefix.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
import difflib
import re
from typing import Optional

from mmengine.registry import (Registry, build_from_cfg,
                               build_model_from_cfg)

# the registries only (config checks iterate over them); the error helpers
# below are public too: UnregisteredTypeError, unregistered_type_message,
# PLUGIN_HINT
__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'STRATEGIES', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'FUNCTIONS', 'MODELS', 'NEURONS',
    'POOLINGS', 'FUSIONS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS',
    'VISBACKENDS', 'INFERENCERS', 'EXTRACTORS'
]



#: how to make a plugin's types known (appended to every unknown-type error)
PLUGIN_HINT = ("if it comes from a plugin package, import that package in the "
               "config: custom_imports = dict(imports=['<package>'], "
               "allow_failed_imports=False)")


class UnregisteredTypeError(KeyError):
    """A config names a ``type`` no registry knows.

    A ``KeyError`` (as mmengine raises) whose message is one line: the
    type, the registry, the closest registered names and the fix for a
    plugin type (:data:`PLUGIN_HINT`). ``str(err)`` is that line (no
    quotes added by ``KeyError``).
    """

    def __init__(self, type_name: str, registry_name: str, hint: str):
        self.type_name = type_name
        self.registry_name = registry_name
        super().__init__(f'{type_name!r} is not registered in the stftbox '
                         f'{registry_name!r} registry ({hint}); {PLUGIN_HINT}')

    def __str__(self) -> str:
        return self.args[0]


_MMENGINE_UNKNOWN = re.compile(r'(\S+) is not in the (\S+) registry')


def unregistered_type_message(err: BaseException) -> Optional[str]:
    """The one-line message of an unknown-type error, else None.

    Args:
        err: any exception; an :class:`UnregisteredTypeError`, or mmengine's
            own ``KeyError('X is not in the scope::name registry. ...')``
            (raised where mmengine's root registries build, e.g. the Runner's
            top-level model, hooks, loops), counts.

    Returns:
        str | None: the line (type, registry, :data:`PLUGIN_HINT`) or None
        when ``err`` is another error. The command-line tools print it as
        ``error: <line>`` instead of a traceback.
    """
    if isinstance(err, UnregisteredTypeError):
        return str(err)
    if isinstance(err, KeyError) and err.args:
        found = _MMENGINE_UNKNOWN.search(str(err.args[0]))
        if found:
            return (f'{found.group(1)!r} is not registered in the '
                    f'{found.group(2)!r} registry; {PLUGIN_HINT}')
    return None


def _registered_names(registry: Registry) -> list:
    """Names ``registry.get`` can resolve: its own and its parents', plus
    its children's with their scope prefix (``'fusions.TuckerFusion'``)."""
    names, node = [], registry
    while node is not None:
        names.extend(node.module_dict)
        node = node.parent
    for scope, child in registry.children.items():
        names.extend(f'{scope}.{name}' for name in child.module_dict)
    return names


def _build_resolving(cfg, registry: Registry, default_args, base):
    """Build ``cfg`` with ``base`` (an mmengine build function), resolving a
    ``type`` string in ``registry`` itself first.

    * found in ``registry`` or its parents -> built from there, whatever the
      default scope (mmengine's scope switch would look in the default
      scope's registry, which does not search child registries);
    * ``_scope_`` given, or not found -> mmengine's own resolution (other
      packages' scopes, mmengine's root registries);
    * still unknown -> KeyError naming the registry and the closest
      registered names (scoped child names included).
    List configs (``build_model_from_cfg`` makes a ``Sequential``) are
    passed to ``base`` unchanged.
    """
    typ = cfg.get('type') if isinstance(cfg, dict) else None
    if not isinstance(typ, str) or '_scope_' in cfg:
        return base(cfg, registry, default_args)
    obj = registry.get(typ)
    if obj is not None:
        return base(dict(cfg, type=obj), registry, default_args)
    try:
        return base(cfg, registry, default_args)
    except KeyError as err:
        if f'{typ} is not in the' not in str(err):
            raise  # raised while building something inside
        names = sorted(set(_registered_names(registry)))
        close = difflib.get_close_matches(typ, names, n=5, cutoff=0.5)
        hint = (f'did you mean {", ".join(map(repr, close))}?'
                if close else f'registered: {", ".join(names)}')
        raise UnregisteredTypeError(typ, registry.name, hint) from None


def build_with_hints(cfg, registry: Registry, default_args=None):
    """Build function of the model registries (``MODELS``, ``NEURONS``,
    ``POOLINGS``, ``FUSIONS``): mmengine's ``build_model_from_cfg`` with the
    resolution of :func:`_build_resolving`.

    It applies when stftbox code calls ``MODELS.build`` etc. (every sub-module
    of a model); the Runner builds the top-level model, hooks, datasets and
    metrics through mmengine's root registries, whose own errors apply there.

    Raises:
        UnregisteredTypeError: (a ``KeyError``) the type is not registered;
            the one-line message names the registry, the closest registered
            names and how to import a plugin (:data:`PLUGIN_HINT`).
    """
    return _build_resolving(cfg, registry, default_args,
                            build_model_from_cfg)


def build_object_with_hints(cfg, registry: Registry, default_args=None):
    """:func:`build_with_hints` for the other registries (datasets,
    samplers, metrics, hooks), with mmengine's ``build_from_cfg``."""
    return _build_resolving(cfg, registry, default_args, build_from_cfg)


# --- runtime -------------------------------------------------------------
# With ``default_scope='stftbox'`` mmengine looks every type up in the
# 'stftbox' child of its root registry first; each root registry therefore
# has a child here (a missing one makes mmengine warn "Failed to search
# registry with scope ..." and fall back to its own).
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS,
                   locations=['stftbox.engine'])
RUNNER_CONSTRUCTORS = Registry('runner constructor',
                               parent=MMENGINE_RUNNER_CONSTRUCTORS,
                               locations=['stftbox.engine'])
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES,
                      locations=['stftbox.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['stftbox.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS,
                 build_func=build_object_with_hints,
                 locations=['stftbox.engine'])
LOG_PROCESSORS = Registry('log processor', parent=MMENGINE_LOG_PROCESSORS,
                          locations=['stftbox.engine'])

# --- data ----------------------------------------------------------------
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS,
                    build_func=build_object_with_hints,
                    locations=['stftbox.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         build_func=build_object_with_hints,
                         locations=['stftbox.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS,
                      locations=['stftbox.datasets'])
#: collate functions; mmengine looks them up in its root registry, so
#: configs name them with the scope: ``dict(type='stftbox.av_gzsl_collate')``
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS,
                     locations=['stftbox.datasets'])

# --- models --------------------------------------------------------------
MODELS = Registry('model', parent=MMENGINE_MODELS,
                  build_func=build_with_hints,
                  locations=['stftbox.models'])
#: spiking neurons (spikingjelly inside), multi-step, input ``[T, B, ...]``
NEURONS = Registry('neuron', parent=MODELS, scope='neurons',
                   build_func=build_with_hints,
                   locations=['stftbox.models.neurons'])
#: poolings that shape the membrane-potential input (GLP, max, avg)
POOLINGS = Registry('pooling', parent=MODELS, scope='poolings',
                    build_func=build_with_hints,
                    locations=['stftbox.models.poolings'])
#: fusion of the SNN-branch and transformer-branch outputs (Tucker, ...)
FUSIONS = Registry('fusion', parent=MODELS, scope='fusions',
                   build_func=build_with_hints,
                   locations=['stftbox.models.fusions'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          locations=['stftbox.models'])
WEIGHT_INITIALIZERS = Registry('weight initializer',
                               parent=MMENGINE_WEIGHT_INITIALIZERS,
                               locations=['stftbox.models'])

# --- optimisation --------------------------------------------------------
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS,
                      locations=['stftbox.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                          locations=['stftbox.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['stftbox.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=['stftbox.engine'])

# --- evaluation ----------------------------------------------------------
METRICS = Registry('metric', parent=MMENGINE_METRICS,
                   build_func=build_object_with_hints,
                   locations=['stftbox.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR,
                     locations=['stftbox.evaluation'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS,
                      locations=['stftbox.models'])

# --- visualisation -------------------------------------------------------
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                       locations=['stftbox.engine'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS,
                       locations=['stftbox.engine'])
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS,
                       locations=['stftbox.apis'])

# --- feature extraction from raw media -----------------------------------
#: feature extractors (transformers CLIP/CLAP inside) and their frame
#: samplers; a registry of its own (no mmengine root parent): raw video ->
#: benchmark features, tools/dataset_converters/extract_features.py
EXTRACTORS = Registry('feature extractor', scope='stftbox',
                      build_func=build_object_with_hints,
                      locations=['stftbox.extractors'])
