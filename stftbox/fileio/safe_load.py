"""Weights-only checkpoint loading that works with mmengine checkpoints.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: the
unpickler only rebuilds tensors, plain containers and an allow-list of
globals. A checkpoint written by mmengine's ``CheckpointHook`` also holds the
runner state (``message_hub``, ``param_schedulers``, ``meta``), and loading it
with mmengine 0.10.7 fails with ``Unsupported global:
mmengine.logging.history_buffer.HistoryBuffer``.

:func:`register_safe_globals` fixes this by allow-listing exactly what those
checkpoints contain (found by saving and resuming a real ``Runner``; see
:data:`SAFE_GLOBAL_NAMES`). Weights-only loading stays on: nothing here ever
calls ``torch.load(..., weights_only=False)``.

:func:`load_checkpoint_safely` loads a checkpoint into a model with clear
errors (:class:`CheckpointError`) for files that are not checkpoints, that ask
for other pickled objects, or whose tensors do not fit the model.
"""
import inspect
import os
import pickle
import re
import threading
import zipfile
from collections import OrderedDict

import numpy as np
import torch

__all__ = [
    'CheckpointError', 'register_safe_globals', 'safe_globals_list',
    'SAFE_GLOBAL_NAMES', 'safe_torch_load', 'load_checkpoint_safely',
    'get_state_dict', 'check_checkpoint_file', 'load_safetensors',
    'save_safetensors', 'SAFETENSORS_META_KEY'
]

#: Full names (as written in a checkpoint's pickle) that
#: :func:`register_safe_globals` allow-lists, and why each is needed.
SAFE_GLOBAL_NAMES = OrderedDict([
    ('mmengine.logging.history_buffer.HistoryBuffer',
     "message_hub['log_scalars'] values (loss, lr, time, ... histories)"),
    ('builtins.getattr',
     'mapped to a restricted getattr that only returns '
     'HistoryBuffer.{min,max,current,mean}: each HistoryBuffer pickles its '
     'statistics methods, and pickle protocol 2 writes a method defined in '
     'a class as getattr(HistoryBuffer, name)'),
    ('numpy._core.multiarray._reconstruct',
     'rebuilds numpy arrays (HistoryBuffer histories/counts, numpy arrays '
     'in meta such as dataset_meta class embeddings); numpy >= 2 name'),
    ('numpy.core.multiarray._reconstruct',
     'the same function under its numpy 1.x name'),
    ('numpy.ndarray', 'the array type passed to _reconstruct'),
    ('numpy.dtype', 'array/scalar dtypes'),
    ('numpy.dtypes.<Bool|Int*|UInt*|Float*|Complex*|Str|Bytes>DType',
     'the concrete dtype classes: the unpickler only applies pickled state '
     '(BUILD) to allow-listed types, and a dtype object is an instance of '
     'e.g. numpy.dtypes.Float64DType'),
    ('numpy._core.multiarray.scalar',
     "numpy scalars, e.g. message_hub runtime_info['eta'] (np.float64); "
     'numpy >= 2 name'),
    ('numpy.core.multiarray.scalar', 'the same under its numpy 1.x name'),
])

#: attribute names the restricted getattr may resolve on HistoryBuffer
_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})

_LOCK = threading.Lock()


class CheckpointError(RuntimeError):
    """A checkpoint cannot be loaded safely: not a checkpoint (HTML page,
    truncated or empty file), it asks for a pickled global outside the
    weights-only allow-list, or its tensors do not match the model."""


def _history_buffer_cls():
    from mmengine.logging.history_buffer import HistoryBuffer
    return HistoryBuffer


def _restricted_getattr(obj, name, *default):
    """``getattr`` as seen by the weights-only unpickler.

    Only ``getattr(HistoryBuffer, 'min'|'max'|'current'|'mean')`` is
    allowed: the plain functions mmengine stores in each buffer.

    Raises:
        pickle.UnpicklingError: any other object or attribute.
    """
    hb = _history_buffer_cls()
    if (obj is hb and not default and isinstance(name, str)
            and name in _HISTORY_BUFFER_METHODS):
        value = inspect.getattr_static(hb, name)
        if inspect.isfunction(value):
            return value
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while unpickling: only '
        'HistoryBuffer.{min,max,current,mean} may be resolved')


def _numpy_function(name):
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(module, fromlist=[name])
            return getattr(mod, name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f'numpy has no multiarray.{name}')


def safe_globals_list():
    """The objects :func:`register_safe_globals` adds, in
    ``torch.serialization.add_safe_globals`` form.

    Returns:
        list: classes/functions and ``(callable, 'full.name')`` tuples.
    """
    reconstruct = _numpy_function('_reconstruct')
    scalar = _numpy_function('scalar')
    items = [
        _history_buffer_cls(),
        (_restricted_getattr, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        (reconstruct, 'numpy._core.multiarray._reconstruct'),
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (scalar, 'numpy._core.multiarray.scalar'),
        (scalar, 'numpy.core.multiarray.scalar'),
    ]
    seen = set()
    for code in '?bBhHiIlLqQefdgFDGUS':
        dtype_cls = type(np.dtype(code))
        if dtype_cls is not np.dtype and dtype_cls not in seen:
            seen.add(dtype_cls)
            items.append(dtype_cls)
    return items


def register_safe_globals():
    """Allow-list the globals of mmengine checkpoints for weights-only loads.

    Calls ``torch.serialization.add_safe_globals`` with
    :func:`safe_globals_list` (see :data:`SAFE_GLOBAL_NAMES` for each
    entry and why). Idempotent and thread-safe: entries already registered
    (also after ``torch.serialization.clear_safe_globals()``) are checked
    against the current list, so calling it again re-adds only what is
    missing. After this, mmengine's ``load_checkpoint``/``Runner.resume``
    work with ``torch.load``'s default ``weights_only=True``.

    Returns:
        int: number of entries newly added (0 when all were present).
    """
    with _LOCK:
        present = set(torch.serialization.get_safe_globals())
        missing = [g for g in safe_globals_list() if g not in present]
        if missing:
            torch.serialization.add_safe_globals(missing)
        return len(missing)


# ---------------------------------------------------------------------------
# loading

_ZIP_MAGIC = b'PK\x03\x04'
# legacy (pre-1.6) torch.save: pickle protocol 2 of the magic number
# 0x1950a86a20f9469cfc6c as LONG1 with 10 bytes
_LEGACY_MAGIC = b'\x80\x02\x8a\x0a'


def check_checkpoint_file(path):
    """Raise :class:`CheckpointError` unless ``path`` looks like a
    ``torch.save`` file (zip container holding ``data.pkl``, or the legacy
    pickle magic) or a safetensors file; nothing is unpickled.

    Args:
        path (str): the file.

    Returns:
        str: ``'zip'``, ``'legacy'`` or ``'safetensors'`` (an 8-byte
        little-endian header length, then a JSON header: no pickle).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: empty, HTML/XML, plain pickle, corrupt zip, ...
    """
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            head = f.read(64)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CheckpointError(
            f'{path}: cannot read checkpoint ({exc})') from exc
    if size == 0:
        raise CheckpointError(f'{path}: not a checkpoint: the file is empty')
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise CheckpointError(
                f'{path}: not a readable checkpoint: the zip container is '
                f'truncated or corrupt ({size} bytes; {exc}); download it '
                'again') from exc
        if not any(n.endswith('/data.pkl') or n == 'data.pkl'
                   for n in names):
            raise CheckpointError(
                f'{path}: not a PyTorch checkpoint: a zip file without '
                "'data.pkl' (members: " + ', '.join(names[:5]) + ')')
        return 'zip'
    if head.startswith(_LEGACY_MAGIC):
        return 'legacy'
    if _looks_like_safetensors(head, size):
        return 'safetensors'
    stripped = head.lstrip()
    if stripped[:1] == b'<':
        kind = 'it looks like an HTML/XML page (an error or login page ' \
               'saved instead of the file?)'
    elif head[:1] == b'\x80':
        kind = 'it is a plain pickle, not a torch.save file'
    else:
        kind = 'unknown format'
    raise CheckpointError(
        f'{path}: not a PyTorch checkpoint ({kind}; first bytes '
        f'{head[:16]!r}); refusing to unpickle it')


_ANSI = re.compile(r'\x1b\[[0-9;]*m')

#: safetensors metadata key holding the checkpoint's ``meta`` as JSON
SAFETENSORS_META_KEY = 'stftbox_meta'
#: prefix of the tensors that hold the arrays of ``meta`` (e.g. the class
#: embeddings); the JSON holds ``{"__tensor__": name}`` in their place
_META_TENSOR_PREFIX = '__meta__.'


def _meta_to_json(meta, tensors, path=''):
    """``meta`` with its arrays moved into ``tensors`` (JSON-able)."""
    if isinstance(meta, dict):
        return {str(k): _meta_to_json(v, tensors, f'{path}.{k}' if path
                                      else str(k))
                for k, v in meta.items()}
    if isinstance(meta, (list, tuple)):
        return [_meta_to_json(v, tensors, f'{path}.{i}')
                for i, v in enumerate(meta)]
    if isinstance(meta, (np.ndarray, torch.Tensor)):
        name = _META_TENSOR_PREFIX + path
        tensors[name] = torch.as_tensor(np.asarray(meta) if isinstance(
            meta, np.ndarray) else meta).detach().cpu().contiguous().clone()
        return {'__tensor__': name}
    if isinstance(meta, np.generic):
        return meta.item()
    if meta is None or isinstance(meta, (bool, int, float, str)):
        return meta
    raise TypeError(f'save_safetensors: meta value at {path!r} of type '
                    f'{type(meta).__name__} cannot be stored as JSON')


def _meta_from_json(meta, tensors):
    if isinstance(meta, dict):
        if set(meta) == {'__tensor__'}:
            return tensors[meta['__tensor__']].numpy()
        return {k: _meta_from_json(v, tensors) for k, v in meta.items()}
    if isinstance(meta, list):
        return [_meta_from_json(v, tensors) for v in meta]
    return meta


def _looks_like_safetensors(head, size):
    if len(head) < 10:
        return False
    n = int.from_bytes(head[:8], 'little')
    return 2 <= n <= size - 8 and head[8:9] == b'{'


def load_safetensors(path, map_location='cpu'):
    """Read a safetensors checkpoint (no pickle at all).

    Args:
        path (str): a file written by :func:`save_safetensors` (or any
            safetensors file of tensors).
        map_location: ``'cpu'``, a device string or ``torch.device``.

    Returns:
        dict: ``{'state_dict': {name: tensor}, 'meta': dict}`` (``meta``
        from the ``stftbox_meta`` JSON metadata, its arrays as numpy arrays
        and tuples as lists; ``{}`` when absent), the layout of a
        ``torch.save`` checkpoint.

    Raises:
        CheckpointError: truncated or corrupt file, or metadata that is not
            JSON.
    """
    import json

    from safetensors import SafetensorError, safe_open
    device = str(map_location) if map_location is not None else 'cpu'
    try:
        state = {}
        with safe_open(path, framework='pt', device=device) as f:
            metadata = f.metadata() or {}
            for key in f.keys():
                state[key] = f.get_tensor(key)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f'{path}: not a readable safetensors file, probably truncated '
            f'or corrupt ({type(exc).__name__}: {str(exc)[:200]})') from None
    try:
        meta = json.loads(metadata.get(SAFETENSORS_META_KEY, '{}'))
    except ValueError as exc:
        raise CheckpointError(f'{path}: metadata {SAFETENSORS_META_KEY!r} '
                              f'is not JSON ({exc})') from None
    arrays = {k: state.pop(k) for k in list(state)
              if k.startswith(_META_TENSOR_PREFIX)}
    try:
        meta = _meta_from_json(meta, arrays)
    except KeyError as exc:
        raise CheckpointError(f'{path}: metadata names a missing tensor '
                              f'{exc}') from None
    return {'state_dict': state, 'meta': meta}


def save_safetensors(state_dict, path, meta=None):
    """Write weights (and a JSON-able ``meta``) as safetensors, atomically
    (temporary file, then rename).

    Args:
        state_dict (dict): name -> tensor; tensors that share memory are
            written as separate copies.
        path (str): target file (``.safetensors``).
        meta (dict, optional): stored as JSON under ``stftbox_meta``;
            numpy arrays / tensors in it (e.g. ``dataset_meta
            ['class_embeddings']``) are stored as tensors named
            ``__meta__.<path>``.

    Raises:
        TypeError: a ``meta`` value is neither JSON-able nor an array.
    """
    import json

    from safetensors.torch import save_file
    tensors = {k: v.detach().cpu().contiguous().clone()
               for k, v in state_dict.items()}
    meta_json = _meta_to_json(meta or {}, tensors)
    metadata = {SAFETENSORS_META_KEY: json.dumps(meta_json, sort_keys=True)}
    tmp = f'{path}.tmp'
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)


def _refused_name(message):
    m = re.search(r'Unsupported global: GLOBAL (\S+)', message)
    if m:
        return m.group(1)
    m = re.search(r"but got <class '([^']+)'>", message)
    if m:
        return m.group(1)
    m = re.search(r'unsupported GLOBAL (\S+)', message)
    if m:
        return m.group(1)
    return None


def safe_torch_load(path, map_location='cpu'):
    """``torch.load`` with ``weights_only=True`` and clear errors; a
    safetensors file is read with :func:`load_safetensors` (no pickle).

    :func:`register_safe_globals` is called first, so mmengine checkpoints
    load; anything else outside the allow-list is refused, never unpickled.

    Args:
        path (str | os.PathLike): a ``torch.save`` file (zip or legacy)
            or a safetensors file.
        map_location: passed to ``torch.load`` (default ``'cpu'``).

    Returns:
        The loaded object (usually a dict).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: not a checkpoint (empty, HTML, plain pickle,
            truncated/corrupt zip), or it asks for a refused pickled global;
            the message names the file and, when known, the global.
        RuntimeError: other ``torch.load`` failures, re-raised unchanged
            (e.g. ``map_location`` names a device that is not available).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if check_checkpoint_file(path) == 'safetensors':
        return load_safetensors(path, map_location)
    register_safe_globals()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        message = _ANSI.sub('', str(exc))
        name = _refused_name(message)
        if name is not None or 'refused getattr' in message or \
                'reduce for unrecognized function' in message or \
                'Can only' in message:
            what = f"the pickled global '{name}'" if name else \
                'a pickled object'
            detail = message.split('WeightsUnpickler error:')[-1]
            detail = detail.split('Check the documentation')[0].strip()
            raise CheckpointError(
                f'{path}: refused to load: the checkpoint needs {what} '
                'outside the weights-only allow-list; it will not be '
                'unpickled (unpickling it could run code). Only '
                'tensors, plain containers and the mmengine runner state '
                f'are accepted. Details: {detail}') from None
        raise CheckpointError(
            f'{path}: not a readable PyTorch checkpoint (corrupt pickle '
            f'stream: {message.splitlines()[-1] if message else exc!r})'
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            OSError) as exc:
        text = str(exc)
        if isinstance(exc, RuntimeError) and not any(
                k in text for k in ('PytorchStreamReader', 'zip', 'corrupt',
                                    'EOF', 'storage')):
            raise  # e.g. a CUDA map_location on a CPU-only machine
        raise CheckpointError(
            f'{path}: not a readable PyTorch checkpoint, probably truncated '
            f'or corrupt ({type(exc).__name__}: {text[:200]})') from None


def get_state_dict(checkpoint):
    """The model weights inside a loaded checkpoint.

    Args:
        checkpoint (dict): what :func:`safe_torch_load` returned: an
            mmengine checkpoint (``state_dict`` key), a ``model`` dict, or a
            bare state dict.

    Returns:
        dict: ``{name: Tensor}``.

    Raises:
        CheckpointError: no tensor dict found.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'checkpoint holds a {type(checkpoint).__name__}, expected a dict')
    for key in ('state_dict', 'model', 'model_state_dict'):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    if checkpoint and all(isinstance(v, torch.Tensor)
                          for v in checkpoint.values()):
        return checkpoint
    raise CheckpointError(
        'checkpoint has no state dict (keys: ' +
        ', '.join(map(str, list(checkpoint)[:10])) + ')')


def load_checkpoint_safely(model,
                           path,
                           map_location='cpu',
                           strict=True,
                           revise_keys=((r'^module\.', ''), )):
    """Load a checkpoint's weights into ``model`` with weights-only unpickling.

    Args:
        model (torch.nn.Module): target model (a registered model wrapper
            such as DDP/``MMDistributedDataParallel`` is unwrapped via
            ``.module``).
        path (str | os.PathLike): local checkpoint (use
            :func:`stftbox.fileio.resolve_checkpoint` for URLs/zoo names).
        map_location: device for the loaded tensors (default ``'cpu'``).
        strict (bool): also fail on missing/unexpected keys. Shape
            mismatches always fail.
        revise_keys (sequence of (pattern, replacement)): regex rewrites of
            checkpoint keys (default strips a ``module.`` prefix).

    Returns:
        dict: the whole checkpoint (``meta`` etc. included).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: not a checkpoint / refused global / no state dict
            (see :func:`safe_torch_load`); shapes differ from the model (message
            lists ``key: checkpoint (..) vs model (..)`` for each); with
            ``strict``, missing or unexpected keys (listed).
    """
    path = os.fspath(path)
    checkpoint = safe_torch_load(path, map_location=map_location)
    try:
        state = get_state_dict(checkpoint)
    except CheckpointError as exc:
        raise CheckpointError(f'{path}: {exc}') from None
    revised = OrderedDict()
    for key, value in state.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        revised[key] = value
    from mmengine.model import is_model_wrapper
    target = model.module if is_model_wrapper(model) else model
    own = target.state_dict()
    mismatched = []
    for key, value in revised.items():
        if key in own and hasattr(value, 'shape') and \
                tuple(value.shape) != tuple(own[key].shape):
            mismatched.append(f'{key}: checkpoint {tuple(value.shape)} vs '
                              f'model {tuple(own[key].shape)}')
    missing = [k for k in own if k not in revised]
    unexpected = [k for k in revised if k not in own]
    problems = []
    if mismatched:
        problems.append('shape mismatch for ' + '; '.join(mismatched))
    if strict and missing:
        problems.append('missing keys in checkpoint: ' + ', '.join(missing))
    if strict and unexpected:
        problems.append('unexpected keys in checkpoint: ' +
                        ', '.join(unexpected))
    if problems:
        raise CheckpointError(f'{path}: does not fit '
                              f'{type(target).__name__}: ' +
                              ' | '.join(problems))
    target.load_state_dict(
        {k: v for k, v in revised.items() if k in own}, strict=False)
    if not strict and (missing or unexpected):
        from mmengine.logging import print_log
        print_log(
            f'{path}: loaded non-strictly; missing keys: {missing}; '
            f'unexpected keys: {unexpected}',
            logger='current', level=30)
    return checkpoint
