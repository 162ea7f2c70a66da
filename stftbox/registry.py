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
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'FUNCTIONS', 'MODELS', 'NEURONS',
    'POOLINGS', 'FUSIONS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS', 'METRICS',
    'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS'
]

# --- runtime -------------------------------------------------------------
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS,
                   locations=['stftbox.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['stftbox.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['stftbox.engine'])
LOG_PROCESSORS = Registry('log processor', parent=MMENGINE_LOG_PROCESSORS,
                          locations=['stftbox.engine'])

# --- data ----------------------------------------------------------------
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS,
                    locations=['stftbox.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         locations=['stftbox.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS,
                      locations=['stftbox.datasets'])
#: collate functions (``collate_fn=dict(type='av_gzsl_collate')``)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS,
                     locations=['stftbox.datasets'])

# --- models --------------------------------------------------------------
MODELS = Registry('model', parent=MMENGINE_MODELS,
                  locations=['stftbox.models'])
#: spiking neurons (spikingjelly inside), multi-step, input ``[T, B, ...]``
NEURONS = Registry('neuron', parent=MODELS, scope='neurons',
                   locations=['stftbox.models.neurons'])
#: poolings that shape the membrane-potential input (GLP, max, avg)
POOLINGS = Registry('pooling', parent=MODELS, scope='poolings',
                    locations=['stftbox.models.poolings'])
#: fusion of the SNN-branch and transformer-branch outputs (Tucker, ...)
FUSIONS = Registry('fusion', parent=MODELS, scope='fusions',
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
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=['stftbox.engine'])

# --- evaluation ----------------------------------------------------------
METRICS = Registry('metric', parent=MMENGINE_METRICS,
                   locations=['stftbox.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR,
                     locations=['stftbox.evaluation'])

# --- visualisation -------------------------------------------------------
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                       locations=['stftbox.engine'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS,
                       locations=['stftbox.engine'])
