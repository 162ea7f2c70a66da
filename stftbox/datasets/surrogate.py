"""A synthetic ("surrogate") AV-GZSL benchmark in the real on-disk layout.

The published features are zips on a web server (docs/data.md, "On-disk
layout"); machines without them can still train and test end to end on
this surrogate. It is **not** the benchmark: its numbers say nothing about
the published ones (see docs/data.md, "The surrogate benchmark").

What is real: the class-split files (the bundled copy of the UCF files of
AVCA-GZSL / TCaF-GZSL, MIT), the clip names and split membership (the rows
of the split csv files), and the class-name embeddings (all-MiniLM-L6-v2,
384-d, from the ``manual`` names of ``<ds>_w2v_class_names.csv``).

What is synthetic: the audio and video features. Each class ``c`` with
standardised text embedding ``z_c`` gets, per modality ``m``, features from
one fixed random non-linear map shared by all classes,
``g_m(z) = W2_m tanh(W1_m z / sqrt(384) + b1_m) / sqrt(H)`` (H = 256,
seeded), plus a small class-specific offset ``gamma * o_{m,c}`` that the
semantics cannot predict. A clip of duration ``d`` seconds (uniform in
``[min_seconds, max_seconds]``) has ``floor(d / step_m)`` steps per
modality; step ``k`` (at time ``t = k * step_m``) is

    x_m(t) = g_m(z_c + alpha * delta_clip + beta * u_clip(t))
             + gamma * o_{m,c} + sigma * eps

with ``delta_clip`` a clip-level offset, ``u_clip(t)`` a smooth trajectory
(sum of 3 sinusoids of 0.05-0.3 Hz in random directions, shared by the two
modalities, so audio and video are aligned in time) and ``eps`` white
noise (defaults ``alpha=1.5, beta=0.3, gamma=0.5, sigma=2.0``; features
have about unit variance per channel before noise). A model can only
recognise unseen classes by learning the shared map from semantics to
features on seen classes. Calibration of the defaults (cls split, seed 0):
a linear ridge map from mean-pooled audio+video features to the class
embeddings reaches S 97 / U 41 / HM 57 / ZSL 41 % on stage-1 val (chance
ZSL 8 %), so there is room above a trivial model and unseen classes are
far above chance.

Defaults: audio 128-d at 0.96 s a step (4-8 steps), video 512-d at 0.64 s
a step (6-12 steps), clip duration 3.84-7.68 s, stored as float16; the full
UCF surrogate (6816 clips) is about 75 MB and takes well under a minute on
two CPU cores. Everything is deterministic given ``seed`` (text
embeddings up to float rounding of the CPU kernels).
"""
import csv
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
import time
import zlib
from typing import Callable, Dict, List, Optional

import numpy as np

from stftbox.registry import FUNCTIONS
from .class_embeddings import encode_class_names, word_embeddings_name
from .class_splits import ClassIndex, read_class_list, read_w2v_names, \
    w2v_csv_name
from stftbox.utils.progress import track
from .errors import DatasetError

__all__ = ['make_surrogate_avgzsl', 'make_surrogate_benchmark',
           'bundled_class_split_dir', 'FEATURE_SPLITS', 'MARKER']

#: feature folders written (stage_2_train reuses the stage-1 folders)
FEATURE_SPLITS = ('stage_1_train', 'stage_1_val_seen', 'stage_1_val_unseen',
                  'stage_2_test_seen', 'stage_2_test_unseen')
#: completion marker in the data root, holds the generation parameters
MARKER = '.stftbox_surrogate.json'
_HIDDEN = 256


def bundled_class_split_dir(dataset_name: str = 'UCF') -> str:
    """``stftbox/datasets/avgzsl_splits/<dataset_name>/class-split``.

    Raises:
        DatasetError: no bundled split files for that dataset (only UCF is
            bundled; pass ``class_split_dir`` for the others).
    """
    path = osp.join(osp.dirname(__file__), 'avgzsl_splits', dataset_name,
                    'class-split')
    if not osp.isdir(path):
        have = sorted(os.listdir(osp.join(osp.dirname(__file__),
                                          'avgzsl_splits')))
        raise DatasetError(
            f'{path}: no bundled class-split files for {dataset_name} '
            f'(bundled: {[h for h in have if h != "LICENSE"]}); pass '
            'class_split_dir=<Dataset>/class-split')
    return path


def _stable_seed(*parts) -> List[int]:
    return [zlib.crc32(str(p).encode('utf-8')) for p in parts]


def _read_clips(class_split_dir: str, index: ClassIndex
                ) -> Dict[str, Dict[str, List[str]]]:
    """split name -> canonical class name -> clip names (csv row order),
    union of the rows of every ``<split>/<name>.csv``."""
    out: Dict[str, Dict[str, List[str]]] = {s: {} for s in FEATURE_SPLITS}
    splits = sorted(d for d in os.listdir(class_split_dir)
                    if osp.isdir(osp.join(class_split_dir, d)))
    if not splits:
        raise DatasetError(f'{class_split_dir}: no split folder '
                           '(cls_split/, main_split/)')
    for name in FEATURE_SPLITS:
        found = False
        for sp in splits:
            path = osp.join(class_split_dir, sp, f'{name}.csv')
            if not osp.isfile(path):
                continue
            found = True
            with open(path, encoding='utf-8') as f:
                reader = csv.DictReader(f)
                if not {'filename', 'label'} <= set(reader.fieldnames or []):
                    raise DatasetError(f'{path}: expected columns filename,'
                                       f'label, found {reader.fieldnames}')
                for row in reader:
                    cls = index.names[index.resolve(row['label'].strip(),
                                                    path)]
                    clips = out[name].setdefault(cls, [])
                    clip = row['filename'].strip()
                    if clip not in clips:
                        clips.append(clip)
        if not found:
            raise DatasetError(
                f'{class_split_dir}/<split>/{name}.csv: not found; the '
                'surrogate takes its clip names from the split csv files')
    return out


def _atomic_pickle(obj, path: str):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        pickle.dump(obj, f, protocol=4)
    os.replace(tmp, path)


@FUNCTIONS.register_module(name='make_surrogate_avgzsl')
def make_surrogate_avgzsl(data_root: str,
                          dataset_name: str = 'UCF',
                          feature_method: str = 'surrogate_temporal',
                          audio_channels: int = 128,
                          video_channels: int = 512,
                          seed: int = 0,
                          max_clips_per_class: Optional[int] = None,
                          audio_step_seconds: float = 0.96,
                          video_step_seconds: float = 0.64,
                          min_seconds: float = 3.84,
                          max_seconds: float = 7.68,
                          alpha: float = 1.5,
                          beta: float = 0.3,
                          gamma: float = 0.5,
                          sigma: float = 2.0,
                          dtype: str = 'float16',
                          class_split_dir: Optional[str] = None,
                          text_encoder: Optional[Callable] = None,
                          progress: bool = False) -> str:
    """Write a surrogate benchmark into ``data_root`` (the ``<Dataset>/``
    folder), in the real layout of docs/data.md.

    Writes ``class-split/`` (a copy of ``class_split_dir``),
    ``features/<feature_method>/text/word_embeddings_<ds>_normed.npy``
    (dict manual name -> (384,) float32, L2-normalised, for every row of
    the w2v csv) and ``features/<feature_method>/{audio,video}/<split>/
    <Class>.pkl`` for the five feature folders (:data:`FEATURE_SPLITS`),
    each a pickle ``{features: list of (T_i, D) arrays, video_names: list
    of str, fps: list of float (steps per second)}`` for the clips of the
    split csv files. See the module docstring for the generative model.

    The tree is built in a temporary sibling folder and renamed into place;
    a marker file records the parameters, and a later call with the same
    parameters returns at once.

    Args:
        data_root: output ``<Dataset>/`` folder (must not exist, or be an
            earlier surrogate with the same parameters, or be empty).
        dataset_name: names the w2v csv / embedding file; selects the
            bundled split files (only ``'UCF'`` is bundled).
        feature_method: folder under ``features/``.
        audio_channels, video_channels: widths ``D_a`` (128), ``D_v`` (512).
        seed: all random choices derive from it.
        max_clips_per_class: keep at most this many clips per class and
            feature folder (``None``: all csv rows).
        audio_step_seconds, video_step_seconds: seconds per step (0.96,
            0.64).
        min_seconds, max_seconds: clip duration range in seconds.
        alpha, beta, gamma, sigma: clip offset, temporal trajectory,
            class-specific offset and noise scales (features have about
            unit variance per channel).
        dtype: stored float type (``'float16'`` halves the size).
        class_split_dir: ``class-split`` folder to use instead of the
            bundled one.
        text_encoder: ``names -> [N, D_t]`` array; default
            :func:`~stftbox.datasets.class_embeddings.encode_class_names`
            (all-MiniLM-L6-v2).
        progress: show a progress bar over the (split, class) feature
            files written (stdout).

    Returns:
        str: ``data_root``.

    Raises:
        DatasetError: ``data_root`` holds something else; split files
            missing (no csv for a feature folder) or inconsistent.
    """
    params = dict(dataset_name=dataset_name, feature_method=feature_method,
                  audio_channels=int(audio_channels),
                  video_channels=int(video_channels), seed=int(seed),
                  max_clips_per_class=max_clips_per_class,
                  audio_step_seconds=float(audio_step_seconds),
                  video_step_seconds=float(video_step_seconds),
                  min_seconds=float(min_seconds),
                  max_seconds=float(max_seconds), alpha=alpha, beta=beta,
                  gamma=gamma, sigma=sigma, dtype=dtype, version=1)
    data_root = osp.abspath(data_root)
    marker = osp.join(data_root, MARKER)
    if osp.isdir(data_root) and os.listdir(data_root):
        if osp.isfile(marker):
            with open(marker, encoding='utf-8') as f:
                old = json.load(f).get('params')
            if old == params:
                return data_root
            raise DatasetError(
                f'{data_root}: holds a surrogate made with other parameters '
                f'({old}); delete it to regenerate')
        raise DatasetError(f'{data_root}: exists and is not a surrogate '
                           'benchmark; refusing to overwrite it')
    if not min_seconds <= max_seconds or min_seconds < max(
            audio_step_seconds, video_step_seconds):
        raise DatasetError(
            f'min_seconds={min_seconds}, max_seconds={max_seconds}: '
            'expected min <= max and at least one step of each modality')

    t_start = time.time()
    src = class_split_dir or bundled_class_split_dir(dataset_name)
    all_path = osp.join(src, 'all_class.txt')
    index = ClassIndex(read_class_list(all_path, 'all-class list'),
                       all_path)
    w2v = read_w2v_names(osp.join(src, w2v_csv_name(dataset_name)))
    manual = {index.names[index.resolve(o, w2v_csv_name(dataset_name))]: m
              for o, m in w2v}
    clips = _read_clips(src, index)
    used = sorted({c for per in clips.values() for c in per})
    missing = [c for c in used if c not in manual]
    if missing:
        raise DatasetError(f'{osp.join(src, w2v_csv_name(dataset_name))}: '
                           f'no manual name for classes {missing[:3]}')

    # --- text: real sentence embeddings of the manual names -------------
    names = [m for _, m in w2v]
    encode = text_encoder or encode_class_names
    text = np.asarray(encode(names), dtype=np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True).clip(min=1e-12)
    text_dict = {n: text[i] for i, n in enumerate(names)}
    d_t = text.shape[1]

    # --- the fixed random maps ------------------------------------------
    rng = np.random.default_rng(_stable_seed('maps', seed))
    mu, sd = text.mean(0), text.std(0) + 1e-6  # standardise over classes
    widths = dict(audio=int(audio_channels), video=int(video_channels))
    steps = dict(audio=float(audio_step_seconds),
                 video=float(video_step_seconds))
    maps = {}
    for m, d in widths.items():
        w1 = rng.standard_normal((d_t, _HIDDEN)) * 1.5 / np.sqrt(d_t)
        b1 = rng.standard_normal(_HIDDEN) * 0.1
        w2 = rng.standard_normal((_HIDDEN, d)) / np.sqrt(_HIDDEN)
        maps[m] = (w1, b1, w2)

    def g(m, z):
        w1, b1, w2 = maps[m]
        return np.tanh(z @ w1 + b1) @ w2

    # per-channel scale so that prototypes have ~unit variance
    zs = (text - mu) / sd
    scale = {m: 1.0 / (g(m, zs).std(0) + 1e-6) for m in widths}
    center = {m: g(m, zs).mean(0) for m in widths}

    def z_of(cls):
        return (text_dict[manual[cls]] - mu) / sd

    def offset(m, cls):
        r = np.random.default_rng(_stable_seed('offset', seed, m, cls))
        return gamma * r.standard_normal(widths[m])

    # --- write the tree in a temporary sibling folder -------------------
    parent = osp.dirname(data_root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(data_root)}.partial-',
                           dir=parent)
    out_dtype = np.dtype(dtype)
    n_clips = 0
    try:
        shutil.copytree(src, osp.join(tmp, 'class-split'))
        feat_root = osp.join(tmp, 'features', feature_method)
        os.makedirs(osp.join(feat_root, 'text'))
        np.save(osp.join(feat_root, 'text',
                         word_embeddings_name(dataset_name)),
                np.array(text_dict, dtype=object), allow_pickle=True)
        work = [(s, cls, names) for s in FEATURE_SPLITS
                for cls, names in sorted(clips[s].items())]
        for split_name in FEATURE_SPLITS:
            for m in widths:
                os.makedirs(osp.join(feat_root, m, split_name))
        for split_name, cls, clip_names in track(work, enabled=progress):
            if max_clips_per_class is not None:
                clip_names = clip_names[:int(max_clips_per_class)]
            z_c = z_of(cls)
            offs = {m: offset(m, cls) for m in widths}
            out = {m: dict(features=[], video_names=[], fps=[])
                   for m in widths}
            zin = {m: [] for m in widths}
            rngs = []
            for clip in clip_names:
                r = np.random.default_rng(
                    _stable_seed('clip', seed, split_name, clip))
                dur = r.uniform(min_seconds, max_seconds)
                delta = alpha * r.standard_normal(d_t)
                dirs = r.standard_normal((3, d_t))
                freq = r.uniform(0.05, 0.3, 3)
                phase = r.uniform(0, 2 * np.pi, 3)
                for m in widths:
                    t_m = max(1, int(np.floor(dur / steps[m] + 1e-6)))
                    t = np.arange(t_m) * steps[m]
                    traj = np.sin(2 * np.pi * freq[None] * t[:, None]
                                  + phase[None]) @ dirs  # [T, d_t]
                    zin[m].append(z_c[None] + delta[None] + beta * traj)
                rngs.append(r)
            for m in widths:
                if not zin[m]:
                    continue
                # one batched map per class (tiny matmuls are slow)
                xs = (g(m, np.concatenate(zin[m])) - center[m]) \
                    * scale[m] + offs[m][None]
                start = 0
                for clip, r, z in zip(clip_names, rngs, zin[m]):
                    x = xs[start:start + len(z)]
                    start += len(z)
                    x = x + sigma * r.standard_normal(x.shape)
                    out[m]['features'].append(x.astype(out_dtype))
                    out[m]['video_names'].append(clip)
                    out[m]['fps'].append(1.0 / steps[m])
            n_clips += len(clip_names)
            for m in widths:
                _atomic_pickle(out[m], osp.join(feat_root, m, split_name,
                                                f'{cls}.pkl'))
        size = sum(osp.getsize(osp.join(dp, f))
                   for dp, _, fs in os.walk(tmp) for f in fs)
        with open(osp.join(tmp, MARKER), 'w', encoding='utf-8') as f:
            json.dump(dict(params=params, num_clips=n_clips, bytes=size,
                           seconds=round(time.time() - t_start, 1),
                           note='synthetic features, real class splits and '
                           'real class-name embeddings; not the published '
                           'benchmark (docs/data.md)'), f, indent=1)
        if osp.isdir(data_root) and not os.listdir(data_root):
            os.rmdir(data_root)
        try:
            os.rename(tmp, data_root)
        except OSError:
            if not osp.isfile(marker):  # not a concurrent writer: real error
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data_root


def make_surrogate_benchmark(out_root: str,
                             dataset: str = 'UCF',
                             seed: int = 0,
                             audio_channels: int = 128,
                             video_channels: int = 512,
                             method: str = 'surrogate_temporal',
                             max_clips_per_class: Optional[int] = None,
                             **kwargs) -> str:
    """Write the surrogate of ``dataset`` to ``<out_root>/<dataset>/``.

    ``out_root`` plays the role of ``avgzsl_benchmark_non_averaged_datasets``;
    see :func:`make_surrogate_avgzsl` (which receives ``**kwargs``) for the
    generative model, widths (audio 128-d at 0.96 s a step, video 512-d at
    0.64 s a step by default) and errors.

    Returns:
        str: the dataset root ``<out_root>/<dataset>``.
    """
    return make_surrogate_avgzsl(
        osp.join(out_root, dataset), dataset_name=dataset,
        feature_method=method, audio_channels=audio_channels,
        video_channels=video_channels, seed=seed,
        max_clips_per_class=max_clips_per_class, **kwargs)
