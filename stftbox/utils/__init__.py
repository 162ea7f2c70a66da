"""Generic helpers that know nothing of stftbox's models, data or files:
CPU allocator tuning and progress bars."""
from .cpu_allocator import ALLOCATOR_ENV, tune_cpu_allocator, tune_if_requested
from .progress import track

__all__ = ['tune_cpu_allocator', 'ALLOCATOR_ENV', 'tune_if_requested', 'track']


#: names that lived in ``stftbox.utils`` before 0.2 and moved to
#: :mod:`stftbox.fileio` (the artifact supply chain) or
#: :mod:`stftbox.datasets.avgzsl_layout` (the AV-GZSL layout checker)
_MOVED = {
    **{name: 'stftbox.fileio' for name in (
        'register_safe_globals', 'safe_globals_list', 'SAFE_GLOBAL_NAMES',
        'safe_torch_load', 'load_checkpoint_safely', 'get_state_dict',
        'CheckpointError', 'BadBodyError', 'BodyError', 'check_body',
        'describe_body', 'download', 'DownloadError', 'ChecksumError',
        'get_cache_dir', 'get_checkpoint_dir', 'get_mirror', 'apply_mirror',
        'resolve_checkpoint', 'resolve_load_from', 'zoo_download_url',
        'sha256_file', 'state_dict_sha256', 'normalize_sha256',
        'load_model_zoo', 'get_entry', 'ModelZooError')},
    **{name: 'stftbox.datasets.avgzsl_layout' for name in (
        'check_avgzsl_layout', 'LayoutReport', 'safe_extract_zip',
        'UnsafeArchiveError', 'feature_archive_name', 'feature_archive_url',
        'AVGZSL_FEATURE_BASE_URL')},
}


def __getattr__(name):
    """Old import paths keep working for one release, with a
    ``DeprecationWarning`` naming the new module.

    Raises:
        AttributeError: ``name`` is neither a helper here nor a moved name.
    """
    if name not in _MOVED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib
    import warnings
    new = _MOVED[name]
    warnings.warn(f'stftbox.utils.{name} moved to {new}.{name}; import it '
                  f'from there', DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(new), name)
