"""The artifact supply chain: atomic writes of run artifacts
(:mod:`.atomic_io`), verified, resumable downloads
(:mod:`.download`), checks of what a server sent (:mod:`.body_check`),
SHA-256 hashing (:mod:`.hashing`), the model zoo's metadata
(:mod:`.model_zoo`) and weights-only checkpoint loading
(:mod:`.safe_load`, pickle checkpoints; ``.safetensors`` files)."""
from .atomic_io import (atomic_torch_save, atomic_write, atomic_write_bytes,
                        atomic_write_text, dump_json_atomic)
from .body_check import BodyError, check_body, describe_body
from .download import (BadBodyError, ChecksumError, DownloadError,
                       apply_mirror, download, get_cache_dir,
                       fetch_zoo_weights, get_checkpoint_dir, get_mirror,
                       resolve_checkpoint, resolve_load_from,
                       zoo_download_url, zoo_weights)
from .hashing import normalize_sha256, sha256_file, state_dict_sha256
from .model_zoo import (ModelZooError, get_entry, load_model_zoo,
                        parse_model_zoo_markdown, render_model_zoo_markdown,
                        save_zoo_entry)

#: names of :mod:`.safe_load`, imported on first use: it imports torch
#: (~4 s, ~600 MB), which e.g. ``tools/model_zoo.py list`` does not need
_LAZY = {name: 'safe_load' for name in (
    'SAFE_GLOBAL_NAMES', 'CheckpointError', 'get_state_dict',
    'load_checkpoint_safely', 'register_safe_globals', 'safe_globals_list',
    'safe_torch_load', 'load_safetensors', 'save_safetensors')}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f'.{_LAZY[name]}', __name__)
        return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'atomic_write', 'atomic_write_bytes', 'atomic_write_text',
    'atomic_torch_save',
    'dump_json_atomic', 'register_safe_globals', 'safe_globals_list', 'SAFE_GLOBAL_NAMES',
    'safe_torch_load', 'load_checkpoint_safely', 'get_state_dict',
    'load_safetensors', 'save_safetensors',
    'CheckpointError', 'BadBodyError', 'BodyError', 'check_body',
    'describe_body', 'download', 'DownloadError', 'ChecksumError',
    'get_cache_dir', 'get_checkpoint_dir', 'get_mirror', 'apply_mirror',
    'resolve_checkpoint', 'resolve_load_from', 'zoo_download_url',
    'zoo_weights', 'fetch_zoo_weights',
    'sha256_file', 'state_dict_sha256', 'normalize_sha256',
    'load_model_zoo', 'get_entry', 'ModelZooError',
    'render_model_zoo_markdown', 'parse_model_zoo_markdown', 'save_zoo_entry'
]
