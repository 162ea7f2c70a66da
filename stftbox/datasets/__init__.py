"""Data side of stftbox: the AV-GZSL benchmark reader, its cache, safe
loading, class-balanced sampling, collate, and the surrogate benchmark
(docs/data.md, docs/interfaces.md)."""
from .av_gzsl import (FEATURE_URL_BASE, AVGZSLDataset, aligned_crop,
                      check_data_root, prepare_data_root)
from .class_embeddings import (build_class_embedding_matrix,
                               encode_class_names, load_word_embeddings)
from .class_splits import PHASES, ClassIndex, load_phase_classes
from .collate import av_gzsl_collate, pad_sequences
from .errors import DatasetError, UnsafePickleError
from .feature_cache import FeatureCache, build_feature_cache, \
    read_feature_file
from .safe_pickle import (RestrictedUnpickler, safe_load_npy,
                          safe_load_pickle, safe_loads)
from .samplers import ClassBalancedSampler
from .surrogate import make_surrogate_avgzsl, make_surrogate_benchmark
from .worker_init import epoch_worker_init_fn

__all__ = [
    'AVGZSLDataset', 'aligned_crop', 'check_data_root', 'prepare_data_root',
    'FEATURE_URL_BASE', 'PHASES',
    'ClassIndex', 'load_phase_classes', 'build_class_embedding_matrix',
    'encode_class_names', 'load_word_embeddings', 'av_gzsl_collate',
    'pad_sequences', 'DatasetError', 'UnsafePickleError', 'FeatureCache',
    'build_feature_cache', 'read_feature_file', 'RestrictedUnpickler',
    'safe_load_npy', 'safe_load_pickle', 'safe_loads',
    'ClassBalancedSampler', 'make_surrogate_avgzsl',
    'make_surrogate_benchmark', 'epoch_worker_init_fn'
]
