"""Zero-shot on a media file: the feature extractor a model was trained
with, rebuilt from its checkpoint.

``tools/dataset_converters/extract_features.py`` records the extractor in
``features/<method>/extractor.json``; :class:`~stftbox.datasets.
AVGZSLDataset` puts it into ``metainfo['feature_extractor']`` and mmengine
stores the training dataset's meta in every checkpoint
(``meta['dataset_meta']``). :func:`model_extractor` rebuilds it from there
(else from the config's ``feature_extractor`` key), so a video is embedded
exactly as the training clips were.
"""
import os
import os.path as osp
from typing import Optional, Tuple

import numpy as np

__all__ = ['model_extractor', 'media_features', 'is_media_path',
           'recorded_extractor']


def is_media_path(x) -> bool:
    """True for a path (str/PathLike) with a video file ending
    (:data:`stftbox.extractors.VIDEO_EXTENSIONS`)."""
    from stftbox.extractors.decode import VIDEO_EXTENSIONS
    return isinstance(x, (str, os.PathLike)) and \
        osp.splitext(os.fspath(x))[1].lower() in VIDEO_EXTENSIONS


def recorded_extractor(model) -> Optional[dict]:
    """The extractor config recorded for ``model``: checkpoint meta
    (``dataset_meta['feature_extractor']``), else the config's
    ``feature_extractor`` key, else ``None``."""
    meta = getattr(model, 'dataset_meta', None) or {}
    rec = meta.get('feature_extractor')
    if rec:
        return dict(rec)
    cfg = getattr(model, 'cfg', None)
    rec = cfg.get('feature_extractor') if cfg is not None else None
    if rec:
        return rec.to_dict() if hasattr(rec, 'to_dict') else dict(rec)
    return None


def model_extractor(model, device: Optional[str] = None):
    """The :class:`~stftbox.extractors.AVFeatureExtractor` of ``model``
    (cached on the model).

    Raises:
        ValueError: nothing recorded (a model trained on the published
            C3D/VGGish or SeLaVi features, which stftbox cannot compute).
        ExtractorModelError: the extractor's weights are not available.
    """
    from stftbox.extractors import build_extractor
    cached = getattr(model, '_stftbox_extractor', None)
    if cached is not None:
        return cached
    rec = recorded_extractor(model)
    if rec is None:
        raise ValueError(
            'this model records no feature extractor (checkpoint '
            "meta['dataset_meta']['feature_extractor'] or config key "
            "'feature_extractor'): it was trained on pre-extracted features "
            'stftbox cannot compute from a video; train on features built '
            'with tools/dataset_converters/extract_features.py, or pass '
            'audio/video features')
    if device is None:
        try:
            device = str(next(model.parameters()).device)
        except (StopIteration, AttributeError):
            device = 'cpu'
    ex = build_extractor(rec, device=device)
    try:
        model._stftbox_extractor = ex
    except AttributeError:  # pragma: no cover
        pass
    return ex


def media_features(model, path) -> Tuple[np.ndarray, np.ndarray]:
    """Decode a media file and extract ``(audio [T_a, D_a], video [T_v,
    D_v])`` with :func:`model_extractor`.

    Raises:
        FileNotFoundError: no such file.
        MediaDecodeError: unreadable media.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    res = model_extractor(model).extract(path)
    return res['audio'], res['video']
