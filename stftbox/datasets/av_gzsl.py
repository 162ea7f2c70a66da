"""``AVGZSLDataset``: the audio-visual GZSL benchmark layout reader.

Source: ``docs/data.md`` ("On-disk layout", "Splits used in training and
evaluation"); contract: ``docs/interfaces.md``; user guide: ``docs/data.md``.
"""
import inspect
import logging
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log
from torch.utils.data import Dataset

from stftbox.registry import DATASETS, FUNCTIONS
from .class_embeddings import (build_class_embedding_matrix,
                               load_word_embeddings, word_embeddings_name)
from .class_splits import PHASES, load_phase_classes
from .errors import DatasetError
from .feature_cache import (FEATURE_FORMATS, FeatureCache,
                            build_feature_cache, fingerprint)

__all__ = ['AVGZSLDataset', 'aligned_crop', 'check_data_root',
           'prepare_data_root', 'in_stftbox_cache',
           'FEATURE_URL_BASE']

#: where the published feature zips live (docs/data.md)
FEATURE_URL_BASE = 'https://s3.mlcloud.uni-tuebingen.de/tcaf-gzsl/'


def aligned_crop(t_a: int, t_v: int, max_steps: Optional[int],
                 audio_step_seconds: float, video_step_seconds: float,
                 position: Optional[float] = None
                 ) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """Windows of at most ``max_steps`` steps, aligned in time.

    Audio and video have different step rates (e.g. VGGish 0.96 s, C3D
    0.64 s a step), so the crop is chosen in seconds: a window of
    ``W = max_steps * min(audio_step_seconds, video_step_seconds)`` seconds
    (the longest in which neither modality exceeds ``max_steps`` steps)
    starts at time ``t0`` inside the part covered by both modalities; each
    modality takes the steps that start nearest ``t0`` (so the start times
    differ by at most half a step of each). Clips with both lengths
    ``<= max_steps`` are kept whole.

    Args:
        t_a, t_v: clip lengths in steps.
        max_steps: step limit (``None``: no crop).
        audio_step_seconds, video_step_seconds: seconds per step.
        position: in ``[0, 1]``: ``t0 = position * slack``
            (random crop: a uniform draw); ``None``: centre crop.

    Returns:
        ``((a_start, a_len), (v_start, v_len))`` in steps.
    """
    if max_steps is None or (t_a <= max_steps and t_v <= max_steps):
        return (0, t_a), (0, t_v)
    sa, sv = float(audio_step_seconds), float(video_step_seconds)
    window = max_steps * min(sa, sv)
    n_a = min(t_a, max(1, int(math.floor(window / sa + 1e-6))))
    n_v = min(t_v, max(1, int(math.floor(window / sv + 1e-6))))
    slack = max(0.0, min(t_a * sa, t_v * sv) - window)
    t0 = slack / 2 if position is None else float(position) * slack
    a0 = max(0, min(int(round(t0 / sa)), t_a - n_a))
    v0 = max(0, min(int(round(t0 / sv)), t_v - n_v))
    return (a0, n_a), (v0, n_v)


def check_data_root(data_root: str, dataset_name: str = 'UCF',
                    feature_method: str = 'cls_features_non_averaged'
                    ) -> None:
    """Raise the missing-data error of :class:`AVGZSLDataset` if
    ``data_root`` (``~`` expanded) is not a folder.

    Args:
        data_root (str): the ``<Dataset>/`` folder.
        dataset_name (str): ``'UCF'``, ``'VGGSound'`` or ``'ActivityNet'``
            (names the archive to download).
        feature_method (str): folder under ``features/``; ``main*`` (SeLaVi)
            points at the ``selavi`` archive, others at ``supervised``.

    Raises:
        DatasetError: naming ``data_root``, the two archives' URLs and the
            ``tools/dataset_converters/download_avgzsl.py`` command.
    """
    data_root = osp.expanduser(str(data_root))
    if osp.isdir(data_root):
        return
    ds = dataset_name.lower()
    kind = 'selavi' if feature_method.startswith('main') else 'supervised'
    parent = osp.dirname(osp.abspath(data_root))
    if feature_method.startswith('clipclap'):
        raise DatasetError(
            f'{data_root}: data root not found; expected the '
            f"'{dataset_name}/' folder with features/{feature_method}/ "
            'built from the raw videos: run python tools/dataset_converters/'
            f'extract_features.py {ds} <video folder> --out-root {parent}'
            ' (docs/data.md, "Building the features yourself")')
    raise DatasetError(
        f'{data_root}: data root not found; expected the '
        f"'{dataset_name}/' folder of the AV-GZSL benchmark "
        f'(class-split/ and features/{feature_method}/). Download '
        f'{FEATURE_URL_BASE}{ds}-supervised-temporal.zip (C3D/VGGish) '
        f'or {FEATURE_URL_BASE}{ds}-selavi-temporal.zip (SeLaVi) and '
        f'unzip it under {parent} (or run python tools/'
        f'dataset_converters/download_avgzsl.py {ds} {kind} --root '
        f'{parent}); see docs/data.md')


def in_stftbox_cache(path: str) -> bool:
    """Whether ``path`` (``~`` expanded, links resolved) lies inside the
    stftbox cache (``$STFTBOX_HOME``, default ``~/.cache/stftbox``), the only
    place where generated (``prepare``) data is ever made."""
    from stftbox.fileio import get_cache_dir
    home = osp.realpath(get_cache_dir())
    real = osp.realpath(osp.expanduser(str(path)))
    return real == home or real.startswith(home.rstrip(os.sep) + os.sep)


def prepare_data_root(prepare: dict, data_root: str, **context) -> None:
    """Create a missing ``data_root`` with a ``prepare`` function (e.g. the
    surrogate generator); nothing happens if it exists.

    Only a ``data_root`` inside the stftbox cache (:func:`in_stftbox_cache`)
    is ever created: a missing path anywhere else is a mistyped or
    not-yet-downloaded data root, which gets the missing-data error of
    :func:`check_data_root` instead of hundreds of MB of synthetic data at
    that place.

    Args:
        prepare (dict): ``dict(type=<FUNCTIONS name or callable>,
            **kwargs)``.
        data_root (str): the ``<Dataset>/`` folder to create.
        **context: ``dataset_name``, ``feature_method``, ``audio_channels``,
            ``video_channels``; passed when the function's signature names
            them (or takes ``**kwargs``) and they are not None; ``kwargs``
            of ``prepare`` override them. ``progress=True`` is passed the
            same way (a progress bar while it works).

    Raises:
        DatasetError: ``type`` is not a registered function; ``data_root``
            is missing and outside the stftbox cache (the missing-data
            error, one line).
    """
    data_root = osp.expanduser(str(data_root))
    if not osp.isdir(data_root) and not in_stftbox_cache(data_root):
        check_data_root(data_root, **{
            k: context[k] for k in ('dataset_name', 'feature_method')
            if context.get(k) is not None})
    cfg = dict(prepare)
    typ = cfg.pop('type', None)
    fn = FUNCTIONS.get(typ) if isinstance(typ, str) else typ
    if not callable(fn):
        raise DatasetError(
            f"prepare: '{typ}' is not a function registered in "
            'stftbox FUNCTIONS')
    ctx = dict(context, data_root=data_root, progress=True)
    params = inspect.signature(fn).parameters
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in ctx.items()
              if (var_kw or k in params) and (v is not None
                                              or k == 'data_root')}
    kwargs.update(cfg)
    if not osp.isdir(data_root):
        print_log(f'{data_root} missing: creating it with prepare={typ}',
                  logger='current')
        fn(**kwargs)


@DATASETS.register_module()
class AVGZSLDataset(Dataset):
    """Clips of one phase of the AV-GZSL benchmark (temporal or averaged).

    Reads ``<data_root>/class-split/`` and
    ``<data_root>/features/<feature_method>/{audio,video,text}/`` as laid
    out in ``docs/data.md``. The phase fixes the feature folders read and
    the seen/unseen classes:

    * ``stage_1_train``: samples from stage_1_train; seen = stage_1_train
      classes; no unseen classes.
    * ``stage_1_val``: stage_1_val_seen + stage_1_val_unseen; seen =
      stage_1_val_seen, unseen = stage_1_val_unseen.
    * ``stage_2_train``: stage_1_train + val_seen + val_unseen; seen =
      stage_1_train + stage_1_val_unseen classes; no unseen classes.
    * ``stage_2_test``: stage_2_test_seen + stage_2_test_unseen; seen =
      stage_2_test_seen, unseen = stage_2_test_unseen.

    Class ids index the sorted ``all_class.txt``; clips whose class is in
    neither list are dropped. Audio and video clips are matched by name.
    The first load converts the clips into a memory-mapped cache (see
    :mod:`stftbox.datasets.feature_cache`).

    ``dataset[i]`` is ``dict(audio=FloatTensor[T_a, D_a],
    video=FloatTensor[T_v, D_v], label=int)``; training (``test_mode=False``)
    random-crops to ``max_steps``, evaluation centre-crops to
    ``eval_max_steps``, both aligned in time (:func:`aligned_crop`).
    Averaged ``.h5`` features give ``T = 1``.

    Args:
        data_root (str): the ``<Dataset>/`` folder (holds ``class-split/``
            and ``features/``).
        dataset_name (str): ``'UCF'``, ``'VGGSound'`` or ``'ActivityNet'``;
            names ``<ds>_w2v_class_names.csv`` and
            ``word_embeddings_<ds>_normed.npy`` (lower-cased).
        feature_method (str): folder under ``features/``, e.g.
            ``'cls_features_non_averaged'``.
        split (str): ``'cls_split'`` or ``'main_split'``.
        phase (str): one of the table above.
        feature_format (str): ``'pkl'`` (temporal) or ``'h5'`` (averaged).
        audio_channels, video_channels (int | None): expected widths
            ``D_a``, ``D_v``; a file with another width raises. ``None``:
            accept the first file's width.
        max_steps (int | None): training crop length in steps (60).
        eval_max_steps (int | None): evaluation centre-crop length (60).
        audio_step_seconds (float): seconds per audio step (0.96, VGGish).
        video_step_seconds (float): seconds per video step (0.64, C3D).
        test_mode (bool): evaluation mode (centre crop).
        cache_dir (str | None): cache root; default
            ``<data_root>/.stftbox_cache``.
        prepare (dict | None): ``dict(type=<FUNCTIONS name>, **kwargs)``
            called once when ``data_root`` does not exist, to create it
            (rank 0 first, other ranks wait at a barrier). The function
            receives ``data_root`` and, if its signature names them,
            ``dataset_name``, ``feature_method``, ``audio_channels``,
            ``video_channels``; ``kwargs`` override those.

    Raises:
        DatasetError: missing data root (with download hint), split/class
            file, feature folder or file; a class absent from
            ``all_class.txt``; a class without a text embedding; width
            mismatch; NaN/Inf; audio/video listing different clips; empty
            split; a pickle holding other objects (``UnsafePickleError``).
    """

    def __init__(self,
                 data_root: str,
                 dataset_name: str = 'UCF',
                 feature_method: str = 'cls_features_non_averaged',
                 split: str = 'cls_split',
                 phase: str = 'stage_1_train',
                 feature_format: str = 'pkl',
                 audio_channels: Optional[int] = None,
                 video_channels: Optional[int] = None,
                 max_steps: Optional[int] = 60,
                 eval_max_steps: Optional[int] = 60,
                 audio_step_seconds: float = 0.96,
                 video_step_seconds: float = 0.64,
                 test_mode: bool = False,
                 cache_dir: Optional[str] = None,
                 prepare: Optional[dict] = None):
        if phase not in PHASES:
            raise DatasetError(f"phase '{phase}' unknown, expected one of "
                               f'{sorted(PHASES)}')
        if feature_format not in FEATURE_FORMATS:
            raise DatasetError(
                f"feature_format '{feature_format}' unknown, expected one "
                f'of {sorted(FEATURE_FORMATS)}')
        self.data_root = osp.expanduser(str(data_root))
        self.dataset_name = dataset_name
        self.feature_method = feature_method
        self.split = split
        self.phase = phase
        self.feature_format = feature_format
        self.audio_channels = audio_channels
        self.video_channels = video_channels
        self.max_steps = max_steps
        self.eval_max_steps = eval_max_steps
        self.audio_step_seconds = float(audio_step_seconds)
        self.video_step_seconds = float(video_step_seconds)
        self.test_mode = bool(test_mode)
        self.prepare = prepare
        self.cache_dir = cache_dir or osp.join(self.data_root,
                                               '.stftbox_cache')

        if not osp.isdir(self.data_root) and prepare is not None:
            self._run_prepare()
        self._check_root()
        self.classes = load_phase_classes(
            osp.join(self.data_root, 'class-split'), split, phase,
            dataset_name)
        self.class_embeddings = self._load_class_embeddings()
        self.feature_extractor = self._load_extractor_record()
        items = self._list_items()
        self.cache = self._load_cache(items)
        self.labels: np.ndarray = self.cache.labels
        self._warn_empty_classes()

    # ------------------------------------------------------------------
    # set-up
    def _run_prepare(self):
        rank, world = get_dist_info()
        if world > 1 and rank != 0:
            barrier()  # rank 0 prepares first
        try:
            prepare_data_root(self.prepare, self.data_root,
                              dataset_name=self.dataset_name,
                              feature_method=self.feature_method,
                              audio_channels=self.audio_channels,
                              video_channels=self.video_channels)
        finally:
            if world > 1 and rank == 0:
                barrier()

    def _check_root(self):
        check_data_root(self.data_root, self.dataset_name,
                        self.feature_method)

    def _feature_dir(self, modality: str, split_name: str = '') -> str:
        return osp.join(self.data_root, 'features', self.feature_method,
                        modality, split_name)

    def _load_class_embeddings(self) -> np.ndarray:
        path = osp.join(self._feature_dir('text'),
                        word_embeddings_name(self.dataset_name))
        emb = load_word_embeddings(path)
        return build_class_embedding_matrix(
            emb, self.classes.index.names, self.classes.used_ids,
            self.classes.manual_names, source=path)

    def _load_extractor_record(self) -> Optional[dict]:
        """``features/<method>/extractor.json`` written by
        ``tools/dataset_converters/extract_features.py`` (its
        ``extractor`` entry), or ``None`` for published features."""
        path = osp.join(self._feature_dir(''), 'extractor.json')
        if not osp.isfile(path):
            return None
        import json
        try:
            with open(path, encoding='utf-8') as f:
                rec = json.load(f)['extractor']
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f'{path}: unreadable extractor record, '
                               f"expected JSON with an 'extractor' dict "
                               f'({exc})') from exc
        # one report per feature method folder (a run for another layout
        # leaves this one alone)
        report = osp.join(self._feature_dir(''), 'extract_report.json')
        try:
            with open(report, encoding='utf-8') as f:
                complete = bool(json.load(f).get('complete'))
        except (OSError, ValueError, AttributeError):
            complete = False
        if not complete:
            raise DatasetError(
                f'{report}: feature extraction not complete (interrupted, '
                'still running, or shards pending); rerun tools/'
                'dataset_converters/extract_features.py with the same '
                'arguments to finish it')
        return rec

    def _class_files(self, modality: str, split_name: str) -> Dict[int, str]:
        folder = self._feature_dir(modality, split_name)
        if not osp.isdir(folder):
            raise DatasetError(
                f'{folder}: feature folder not found, expected '
                f'features/<method>/{modality}/{split_name}/<Class>'
                f'{FEATURE_FORMATS[self.feature_format]} files (see '
                'docs/data.md)')
        suffix = FEATURE_FORMATS[self.feature_format]
        out: Dict[int, str] = {}
        for fname in sorted(os.listdir(folder)):
            if not fname.endswith(suffix):
                continue
            path = osp.join(folder, fname)
            cid = self.classes.index.resolve(fname[:-len(suffix)], path)
            if cid in out:
                raise DatasetError(f'{path}: a second feature file of class '
                                   f"'{self.classes.index.names[cid]}' "
                                   f'(first: {out[cid]})')
            out[cid] = path
        return out

    def _list_items(self) -> List[Tuple[int, str, str]]:
        keep = set(self.classes.seen_ids) | set(self.classes.unseen_ids)
        items = []
        for split_name in self.classes.sources:
            audio = self._class_files('audio', split_name)
            video = self._class_files('video', split_name)
            for cid in sorted(set(audio) | set(video)):
                if cid not in keep:
                    continue  # class outside the phase's lists: dropped
                if cid not in video or cid not in audio:
                    have, lack = (audio, 'video') if cid in audio else (
                        video, 'audio')
                    raise DatasetError(
                        f'{have[cid]}: no matching {lack} file in '
                        f'{self._feature_dir(lack, split_name)}')
                items.append((cid, audio[cid], video[cid]))
        if not items:
            folders = [self._feature_dir('audio', s)
                       for s in self.classes.sources]
            raise DatasetError(
                f'{folders}: no feature file of a class of phase '
                f'{self.phase} ({self.split}) -- empty split')
        return items

    def _load_cache(self, items) -> FeatureCache:
        args = dict(dataset_name=self.dataset_name, split=self.split,
                    phase=self.phase, feature_method=self.feature_method,
                    feature_format=self.feature_format,
                    audio_channels=self.audio_channels,
                    video_channels=self.video_channels, items=items)
        files = list(self.classes.files) + [p for _, a, v in items
                                            for p in (a, v)]
        key = fingerprint(files, args)
        name = (f'{self.dataset_name}-{self.split}-{self.phase}-'
                f'{self.feature_method}-{self.feature_format}-{key}')
        path = osp.join(self.cache_dir, name)
        rank, world = get_dist_info()
        if world > 1 and rank != 0:
            barrier()  # rank 0 builds first
        try:
            if not osp.isdir(path):
                print_log(f'converting {len(items)} feature files into the '
                          f'cache {path} (once)', logger='current')
                build_feature_cache(
                    path, items, self.feature_format, self.audio_channels,
                    self.video_channels,
                    meta=dict(dataset_name=self.dataset_name,
                              split=self.split, phase=self.phase),
                    progress=True)
        finally:
            if world > 1 and rank == 0:
                barrier()
        cache = FeatureCache(path)
        for what, want, got in (
                ('audio_channels', self.audio_channels,
                 cache.audio_channels),
                ('video_channels', self.video_channels,
                 cache.video_channels)):
            if want is not None and want != got:  # pragma: no cover
                raise DatasetError(f'{path}: cached {what}={got}, '
                                   f'expected {want}')
        return cache

    def _warn_empty_classes(self):
        counts = np.bincount(self.labels, minlength=len(self.classes.index))
        empty = [self.classes.index.names[i]
                 for i in self.classes.seen_ids + self.classes.unseen_ids
                 if counts[i] == 0]
        if empty:
            print_log(f'{self.data_root}: phase {self.phase} lists '
                      f'{len(empty)} class(es) without clips, e.g. '
                      f'{empty[:3]}', logger='current',
                      level=logging.WARNING)

    # ------------------------------------------------------------------
    # mmengine / torch API
    @property
    def metainfo(self) -> dict:
        """Dataset meta for the evaluator and hooks (docs/interfaces.md):
        ``classes`` (tuple, ``C_all``), ``class_embeddings`` (float32
        ``[C_all, D_t]``, zero rows for classes unused by the split),
        ``seen_class_ids``, ``unseen_class_ids`` (sorted lists),
        ``dataset_name``, ``phase`` and, for features built by
        ``extract_features.py``, ``feature_extractor`` (the extractor
        config, saved in checkpoints for zero-shot on video files). A fresh
        copy on each access."""
        meta = dict(classes=tuple(self.classes.index.names),
                    class_embeddings=self.class_embeddings.copy(),
                    seen_class_ids=list(self.classes.seen_ids),
                    unseen_class_ids=list(self.classes.unseen_ids),
                    dataset_name=self.dataset_name,
                    phase=self.phase)
        if self.feature_extractor is not None:
            import copy
            meta['feature_extractor'] = copy.deepcopy(self.feature_extractor)
        return meta

    @property
    def clip_names(self) -> List[str]:
        """Clip names (``video_names`` / ``video_urls``), dataset order."""
        return self.cache.names

    def full_init(self):
        """No-op (loading happens in ``__init__``); mmengine's Runner calls
        it on datasets that define it."""

    def get_cat_ids(self, idx: int) -> List[int]:
        """``[class id]`` of clip ``idx`` (mmengine samplers' API)."""
        return [int(self.labels[idx])]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> dict:
        """``dict(audio=FloatTensor[T_a, D_a], video=FloatTensor[T_v, D_v],
        label=int)`` after the (random or centre) aligned crop."""
        if idx < 0:
            idx += len(self)
        audio, video = self.cache.clip(idx)
        if self.test_mode:
            steps, pos = self.eval_max_steps, None
        else:
            steps, pos = self.max_steps, float(torch.rand(()).item())
        (a0, na), (v0, nv) = aligned_crop(
            audio.shape[0], video.shape[0], steps, self.audio_step_seconds,
            self.video_step_seconds, pos)
        return dict(
            audio=torch.from_numpy(np.array(audio[a0:a0 + na],
                                            dtype=np.float32)),
            video=torch.from_numpy(np.array(video[v0:v0 + nv],
                                            dtype=np.float32)),
            label=int(self.labels[idx]))

    def __repr__(self):
        return (f'{type(self).__name__}({self.dataset_name}, {self.split}, '
                f'{self.phase}, {len(self)} clips, '
                f'{len(self.classes.seen_ids)} seen / '
                f'{len(self.classes.unseen_ids)} unseen classes)')
