"""Check a merged config before any data is read or any epoch is spent.

mmengine accepts ``--cfg-options max_epochs=1`` silently (a new top-level
key nobody reads) and reports a typo in ``default_hooks.checkpoint`` only at
the first save. :func:`check_config` finds such mistakes up front:

* unknown top-level keys given by ``--cfg-options`` (a key that is neither
  in the config file nor read by the mmengine ``Runner``), and top-level
  keys of the file that are a near-miss of a Runner key (``trian_cfg``);
* unknown arguments of every registered type (a dict with ``type=``),
  recursively through ``model``, datasets, samplers, ``collate_fn``,
  ``default_hooks`` / ``custom_hooks``, evaluators, ``optim_wrapper`` /
  ``optimizer``, ``param_scheduler``, loops, visualizer, ...: the keys are
  compared with the ``__init__`` signature of the registered class,
  following ``**kwargs`` up the class hierarchy where the class passes them
  on to ``super().__init__``;
* unknown keys of the dicts the Runner unpacks itself (dataloaders, loops
  without ``type``, ``env_cfg``, ``randomness``) and unknown ``type`` names;
* a ``load_from`` file that does not exist, and ``resume`` from a
  weights-only checkpoint (:func:`resume_problem`).

Each problem is one line naming the key and the closest valid ones
(``difflib``); :class:`ConfigCheckError` carries all of them.
"""
import difflib
import inspect
import os.path as osp
import re
import urllib.parse

__all__ = ['ConfigCheckError', 'check_config', 'check_cfg_options',
           'merge_cfg_options', 'resume_problem', 'RUNNER_KEYS']

#: top-level keys the mmengine Runner (``Runner.from_cfg``, ``wrap_model``,
#: ``setup_env``) and the stftbox tools read
RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'model_wrapper_cfg', 'compile', 'custom_imports')

_DATALOADER_EXTRA = ('dataset', 'sampler', 'batch_sampler', 'collate_fn',
                     'worker_init_fn', 'num_batch_per_epoch', 'type')
_PLAIN_SCHEMAS = {
    'env_cfg': ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'),
    'randomness': ('seed', 'deterministic', 'diff_rank_seed'),
    'auto_scale_lr': ('enable', 'base_batch_size'),
    'custom_imports': ('imports', 'allow_failed_imports'),
}
#: keys consumed by the builder, not passed to ``__init__``, per context
_BUILDER_KEYS = {
    'hook': ('priority',),
    'optim_wrapper': ('constructor', 'paramwise_cfg'),
    'param_scheduler': ('convert_to_iter_based',),
    'model_wrapper': ('sync_bn',),
}
#: classes taking ``**kwargs`` that they hand to a method whose other
#: parameters are all set explicitly: no extra key is valid
_CLOSED_KWARGS = ('CheckpointHook',)


class ConfigCheckError(ValueError):
    """The config has mistakes; ``problems`` lists one line per mistake,
    each naming the key and the closest valid ones."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('\n'.join(self.problems))


# ---------------------------------------------------------------------------
# signatures


def _forwards_kwargs(func, var_kw):
    """Does ``func`` pass ``**var_kw`` to ``super().__init__``?"""
    try:
        src = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    return re.search(r'super\([^)]*\)\s*\.\s*__init__\s*\((?:[^()]|\([^()]*'
                     r'\))*\*\*\s*' + re.escape(var_kw) + r'\b', src) \
        is not None


def accepted_arguments(obj):
    """Keyword arguments ``obj`` (a class or function) accepts.

    For a class, the ``__init__`` parameters, and while ``__init__`` takes
    ``**kwargs`` and passes them to ``super().__init__``, those of the next
    ``__init__`` in the MRO.

    Returns:
        tuple: ``(names, open)``: ``open`` is True when arbitrary keys may
        be valid (a ``**kwargs`` that is stored or used otherwise), so no
        key can be called unknown.
    """
    names = set()
    if not inspect.isclass(obj):
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            return names, True
        for p in params:
            if p.kind == p.VAR_KEYWORD:
                return names, True
            if p.kind != p.VAR_POSITIONAL:
                names.add(p.name)
        return names, False
    for klass in inspect.getmro(obj):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            return names, False
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):  # a C extension type
            return names, True
        var_kw = None
        for p in params:
            if p.kind == p.VAR_KEYWORD:
                var_kw = p.name
            elif p.kind != p.VAR_POSITIONAL:
                names.add(p.name)
        if var_kw is None:
            return names, False
        if klass.__name__ in _CLOSED_KWARGS:
            return names, False
        if not _forwards_kwargs(init, var_kw):
            return names, True
    return names, False


# ---------------------------------------------------------------------------
# walking the config


def _registries():
    from stftbox import registry as reg
    return reg


def _context_registry(context):
    reg = _registries()
    return {
        'model': reg.MODELS, 'hook': reg.HOOKS, 'dataset': reg.DATASETS,
        'sampler': reg.DATA_SAMPLERS, 'function': reg.FUNCTIONS,
        'metric': reg.METRICS, 'optim_wrapper': reg.OPTIM_WRAPPERS,
        'optimizer': reg.OPTIMIZERS, 'param_scheduler': reg.PARAM_SCHEDULERS,
        'loop': reg.LOOPS, 'visualizer': reg.VISUALIZERS,
        'vis_backend': reg.VISBACKENDS, 'log_processor': reg.LOG_PROCESSORS,
        'model_wrapper': reg.MODEL_WRAPPERS, 'transform': reg.TRANSFORMS,
        'evaluator': reg.EVALUATOR,
        'weight_initializer': reg.WEIGHT_INITIALIZERS,
    }.get(context)


def _all_registries():
    reg = _registries()
    return [getattr(reg, name) for name in reg.__all__]


def _lookup(typ, context):
    """(object, registry or None, valid names) for a ``type`` value; object
    None when unknown."""
    if not isinstance(typ, str):
        return typ, None, ()
    if context == 'surrogate':  # spikingjelly surrogate (build_surrogate)
        from spikingjelly.activation_based import surrogate
        from stftbox.models.neurons.base import valid_surrogate_names
        names = valid_surrogate_names()
        obj = getattr(surrogate, typ, None) if typ in names else None
        return obj, None, names
    first = _context_registry(context)
    cands = ([first] if first is not None else []) + _all_registries()
    for registry in cands:
        try:
            obj = registry.get(typ)
        except Exception:  # noqa: BLE001 - a broken import location
            obj = None
        if obj is not None:
            return obj, registry, ()
    if first is None:
        return None, None, ()
    from stftbox.registry import _registered_names
    names = set(_registered_names(first))
    names |= {n.split('.', 1)[1] for n in names if '.' in n}
    return None, first, sorted(names)


def _close(key, valid, n=3):
    close = difflib.get_close_matches(key, sorted(valid), n=n, cutoff=0.5)
    return (f'did you mean {", ".join(map(repr, close))}?' if close else
            f'valid: {", ".join(sorted(valid)) or "none"}')


# nested keys whose typed value is built from a specific registry
_CHILD_CONTEXT = {
    'optimizer': 'optimizer', 'sampler': 'sampler',
    'batch_sampler': 'sampler', 'collate_fn': 'function',
    'worker_init_fn': 'function', 'dataset': 'dataset',
    'init_cfg': 'weight_initializer', 'vis_backends': 'vis_backend',
    'pipeline': 'transform', 'metrics': 'metric', 'prepare': 'function',
    'surrogate': 'surrogate',
}


class _Checker:

    def __init__(self):
        self.problems = []

    def add(self, msg):
        self.problems.append(msg)

    def typed(self, cfg, where, context, strict=True):
        """A dict with ``type``: check its keys, then its values. ``strict``:
        the context's registry builds it (an unknown type is a mistake);
        else a parent module may resolve the name its own way."""
        typ = cfg['type']
        obj, registry, names = _lookup(typ, context)
        if obj is None:
            close = difflib.get_close_matches(typ, names, n=3, cutoff=0.5)
            # a nested name nothing is close to may be resolved by its
            # parent module another way: only a near-miss is reported
            if names and (strict or difflib.get_close_matches(
                    typ, names, n=1, cutoff=0.85)):
                what = (f'in the {registry.name!r} registry' if registry
                        else f'as a {context}')
                from stftbox.registry import PLUGIN_HINT
                self.add(f'{where}.type: {typ!r} is not registered {what}' +
                         (f'; did you mean {", ".join(map(repr, close))}?'
                          if close else '') + f'; {PLUGIN_HINT}')
        else:
            names, is_open = accepted_arguments(obj)
            valid = names | {'type', '_scope_'} | set(
                _BUILDER_KEYS.get(context, ()))
            if not is_open:
                for key in cfg:
                    if key not in valid:
                        self.add(f'{where}.{key}: unknown argument of '
                                 f'{getattr(obj, "__name__", typ)}; ' +
                                 _close(key, valid - {'_scope_'}))
        self.values(cfg, where, context, skip=('type',))

    def values(self, cfg, where, context, skip=()):
        for key, value in cfg.items():
            if key in skip:
                continue
            child = _CHILD_CONTEXT.get(key)
            self.any(value, f'{where}.{key}', child or context,
                     strict=child is not None)

    def any(self, value, where, context, strict=True):
        if isinstance(value, dict):
            if 'type' in value:
                self.typed(value, where, context, strict)
            else:
                self.values(value, where, context)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                self.any(item, f'{where}[{i}]', context, strict)

    def plain(self, cfg, where, valid, context=None):
        """A dict the Runner unpacks itself (no ``type``)."""
        for key in cfg:
            if key not in valid:
                self.add(f'{where}.{key}: unknown key; ' +
                         _close(key, set(valid)))
        self.values(cfg, where, context)

    def dataloader(self, cfg, where):
        if 'type' in cfg:
            return self.typed(cfg, where, 'function')
        import torch.utils.data
        names, _ = accepted_arguments(torch.utils.data.DataLoader)
        self.plain(cfg, where, names | set(_DATALOADER_EXTRA))

    def loop(self, cfg, where, kind):
        if 'type' in cfg:
            return self.typed(cfg, where, 'loop')
        from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                                     TestLoop, ValLoop)
        if kind == 'train':
            cls = EpochBasedTrainLoop if cfg.get('by_epoch', True) else \
                IterBasedTrainLoop
        else:
            cls = ValLoop if kind == 'val' else TestLoop
        names, _ = accepted_arguments(cls)
        self.plain(cfg, where, names | {'by_epoch'})


def _metric_keys(evaluator):
    """The full keys (``<prefix>/<name>``) the metrics of an evaluator
    config report, when every metric class declares ``metric_names`` (e.g.
    ``GZSLMetric``); None otherwise."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator and \
            'type' not in evaluator:
        evaluator = evaluator['metrics']
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else \
        [evaluator]
    keys = set()
    for m in metrics:
        if not isinstance(m, dict) or 'type' not in m:
            return None
        obj, _, _ = _lookup(m['type'], 'metric')
        names = getattr(obj, 'metric_names', None)
        if obj is None or not names:
            return None
        prefix = m.get('prefix') or getattr(obj, 'default_prefix', None)
        keys |= {f'{prefix}/{n}' if prefix else n for n in names}
    return keys or None


def _metric_prefixes(evaluator):
    """Prefixes of the metrics of an evaluator config (None if unknown)."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator and \
            'type' not in evaluator:
        evaluator = evaluator['metrics']
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else \
        [evaluator]
    prefixes = set()
    for m in metrics:
        if not isinstance(m, dict) or 'type' not in m:
            return None
        obj, _, _ = _lookup(m['type'], 'metric')
        prefix = m.get('prefix') or getattr(obj, 'default_prefix', None)
        if obj is None or not prefix:
            return None
        prefixes.add(prefix)
    return prefixes


def _check_metric_keys(cfg, c):
    """``save_best`` / scheduler ``monitor`` name a metric that validation
    reports: the full key (``gzsl/HM``, not ``gzsl/hm``) when the metrics
    declare their names, else the prefix; a wrong key shows only after the
    first validation otherwise. The same check runs again in the
    checkpoint hook at the start of training (also for a Runner built
    directly), on the built metrics."""
    from stftbox.engine.hooks.checkpoint_hook import \
        unknown_metric_key_message
    prefixes = _metric_prefixes(cfg.get('val_evaluator'))
    if not prefixes or not cfg.get('val_dataloader'):
        return
    keys = _metric_keys(cfg.get('val_evaluator'))
    refs = []
    ckpt = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    best = ckpt.get('save_best') if isinstance(ckpt, dict) else None
    for key in ([best] if isinstance(best, str) else best or []):
        if key != 'auto':
            refs.append(('default_hooks.checkpoint.save_best', key))
    scheds = cfg.get('param_scheduler') or []
    for i, s in enumerate(scheds if isinstance(scheds, list) else [scheds]):
        if isinstance(s, dict) and isinstance(s.get('monitor'), str):
            refs.append((f'param_scheduler[{i}].monitor', s['monitor']))
    for where, key in refs:
        if keys:
            msg = unknown_metric_key_message(where, key, keys)
            if msg:
                c.add(msg)
            continue
        prefix = key.split('/')[0] if '/' in key else None
        if prefix not in prefixes:
            c.add(f'{where}: {key!r} is not reported by val_evaluator '
                  f'(its metrics are named '
                  f'{", ".join(p + "/..." for p in sorted(prefixes))})')


def _is_remote(path):
    return urllib.parse.urlsplit(str(path)).scheme in ('http', 'https',
                                                       's3', 'file')


def check_config(cfg, raise_error=True):
    """Check a merged config before the Runner reads any data.

    Args:
        cfg (mmengine.Config | dict): the config after ``--cfg-options``.
        raise_error (bool): raise on problems (else return them).

    Returns:
        list[str]: the problems, one line each (empty when fine).

    Raises:
        ConfigCheckError: ``raise_error`` and there is at least one problem;
            the message has one line per problem, e.g. ``default_hooks.
            checkpoint.max_keep_ckpt: unknown argument of CheckpointHook;
            did you mean 'max_keep_ckpts'?``.
    """
    c = _Checker()
    for key in cfg:
        if key in RUNNER_KEYS or key.startswith('_'):
            continue
        near = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=0.85)
        if near:
            c.add(f'{key}: not a key the Runner reads; did you mean '
                  f'{near[0]!r}?')
    for key, value in cfg.items():
        if value is None or key not in RUNNER_KEYS:
            continue
        if key == 'model':
            c.any(value, key, 'model')
        elif key == 'data_preprocessor':
            c.any(value, key, 'model')
        elif key.endswith('_dataloader') and isinstance(value, dict):
            c.dataloader(value, key)
        elif key in ('train_cfg', 'val_cfg', 'test_cfg') and \
                isinstance(value, dict):
            c.loop(value, key, key[:-4])
        elif key == 'default_hooks':
            for name, hook in value.items():
                if hook is not None:
                    c.any(hook, f'{key}.{name}', 'hook')
        elif key == 'custom_hooks':
            c.any(value, key, 'hook')
        elif key.endswith('_evaluator'):
            if isinstance(value, dict) and 'metrics' in value and \
                    'type' not in value:
                c.any(value['metrics'], f'{key}.metrics', 'metric')
            else:
                c.any(value, key, 'metric')
        elif key == 'optim_wrapper':
            if isinstance(value, dict) and 'type' not in value:
                value = dict(value, type='OptimWrapper')
            c.any(value, key, 'optim_wrapper')
        elif key == 'param_scheduler':
            c.any(value, key, 'param_scheduler')
        elif key in ('visualizer', 'log_processor', 'model_wrapper_cfg'):
            c.any(value, key, {'model_wrapper_cfg': 'model_wrapper'}.get(
                key, key))
        elif key in _PLAIN_SCHEMAS and isinstance(value, dict):
            c.plain(value, key, _PLAIN_SCHEMAS[key])
    _check_metric_keys(cfg, c)
    load_from = cfg.get('load_from')
    if load_from and not _is_remote(load_from) and \
            not osp.isfile(str(load_from)):
        c.add(f'load_from: no such checkpoint file {load_from!r}')
    if cfg.get('resume') and load_from and not c.problems:
        problem = resume_problem(load_from)
        if problem:
            c.add(problem)
    if c.problems and raise_error:
        raise ConfigCheckError(c.problems)
    return c.problems


def _resumable_sibling(path):
    """The newest complete full-state checkpoint next to ``path``: the one
    ``last_checkpoint`` names (relative to its folder, as stftbox records
    it), else the highest complete ``epoch_N``/``iter_N``
    (:mod:`stftbox.engine.checkpoint_files`, the one reading of a run's
    records)."""
    from .checkpoint_files import (LAST_CHECKPOINT, checkpoint_problem,
                                   local_path, numbered_checkpoints)
    folder = osp.dirname(osp.abspath(path))
    record = osp.join(folder, LAST_CHECKPOINT)
    if osp.isfile(record):
        with open(record, encoding='utf-8', errors='replace') as f:
            last = local_path(folder, f.read().strip())
        if last and osp.abspath(last) != osp.abspath(path) and \
                checkpoint_problem(last) is None:
            return last
    for _, cand in numbered_checkpoints(folder):
        if osp.abspath(cand) != osp.abspath(path) and \
                checkpoint_problem(cand) is None:
            return cand
    return None


def resume_problem(path):
    """Why ``path`` cannot be resumed from exactly, or None.

    A checkpoint without ``optimizer`` (weights only: a model-zoo file, a
    best checkpoint of an older stftbox, ``save_optimizer=False``) would
    silently restart the optimizer moments and the schedules.

    Args:
        path (str): the ``--resume`` / ``load_from`` checkpoint (local).

    Returns:
        str | None: one line naming the resumable file next to it, if any.
    """
    if _is_remote(path) or not osp.isfile(str(path)):
        return None
    from stftbox.fileio import CheckpointError, safe_torch_load
    try:
        ckpt = safe_torch_load(str(path))
    except CheckpointError as exc:
        return f'resume: {exc}'
    missing = [k for k in ('optimizer', 'param_schedulers')
               if k not in ckpt]
    if 'optimizer' not in missing:
        return None
    sibling = _resumable_sibling(path)
    hint = (f'resume from {sibling} instead' if sibling else
            'no resumable checkpoint is next to it')
    return (f'resume: {path} holds weights only (no '
            f'{"/".join(missing)} state), so training would not continue '
            f'exactly; {hint}, or start from these weights with load_from '
            'and no --resume')


def _flat_keys(cfg, prefix=''):
    for key, value in cfg.items():
        path = f'{prefix}{key}'
        yield path
        if isinstance(value, dict):
            yield from _flat_keys(value, path + '.')


def check_cfg_options(cfg, options):
    """Check ``--cfg-options`` keys against the config before merging.

    A key whose first part is neither in the config file nor read by the
    Runner (:data:`RUNNER_KEYS`) is a mistake: nothing would read it.

    Args:
        cfg (mmengine.Config): the config as loaded from its file.
        options (dict | None): ``{dotted key: value}`` (``DictAction``).

    Raises:
        ConfigCheckError: one line per unknown key, with the closest
            existing dotted keys (same last part first).
    """
    problems = []
    for key in options or {}:
        top = key.split('.')[0]
        if top in cfg or top in RUNNER_KEYS:
            _warn_new_nested_key(cfg, key)
            continue
        leaf = key.split('.')[-1]
        paths = list(_flat_keys(cfg))
        same_leaf = [p for p in paths if p.split('.')[-1] == leaf]
        close = same_leaf[:3] or difflib.get_close_matches(key, paths, n=3,
                                                           cutoff=0.5)
        hint = (f'did you mean {", ".join(map(repr, close))}?' if close else
                'it is not a key of the config')
        problems.append(f'--cfg-options {key}: unknown config key '
                        f'{top!r}; {hint}')
    if problems:
        raise ConfigCheckError(problems)


def _warn_new_nested_key(cfg, key):
    """Warn when an option adds a key to an existing plain dict (no
    ``type``, so :func:`check_config` cannot check it against a
    signature): often a typo of an existing key."""
    parts = key.split('.')
    node = cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg  # Config
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        else:
            return
    leaf = parts[-1]
    if not isinstance(node, dict) or 'type' in node or leaf in node or \
            not node:
        return
    close = difflib.get_close_matches(leaf, list(node), n=3, cutoff=0.6)
    if close:
        import sys
        print(f'warning: --cfg-options {key}: {".".join(parts[:-1])} has no '
              f'key {leaf!r} (it is added); did you mean '
              f'{", ".join(map(repr, close))}?', file=sys.stderr)


def merge_cfg_options(cfg, options):
    """:func:`check_cfg_options`, then ``cfg.merge_from_dict(options)``.

    Raises:
        ConfigCheckError: see :func:`check_cfg_options`.
    """
    if options:
        check_cfg_options(cfg, options)
        cfg.merge_from_dict(options)
    return cfg
