"""Loading transformers models for the extractors: real weights by model id
(Hugging Face cache conventions), or random init from a config.

* ``model='openai/clip-vit-base-patch32'`` (or a local folder):
  ``<ModelClass>.from_pretrained`` and ``<ProcessorClass>.from_pretrained``,
  i.e. the Hub cache (``$HF_HOME``, ``$HF_HUB_CACHE``), ``HF_HUB_OFFLINE=1``
  honoured. Missing and not downloadable -> :class:`ExtractorModelError`,
  one line naming the model id and how to provide it.
* ``config=<dict or PretrainedConfig>``: the model class built from it with
  a fixed seed (``init_seed``), so every process that builds the same spec
  gets the same weights (the converter, training meta and the demo agree).
  Processor parts come from ``processor=dict(...)`` kwargs; text
  tokenisation falls back to transformers' ``ByT5Tokenizer`` (bytes, needs
  no vocabulary file) unless ``tokenizer=<id or folder>`` is given.

Loaded models are cached per process by their spec, so the temporal and the
averaged extractor of one run share one CLIP and one CLAP.
"""
import json
from typing import Any, Dict, Optional, Tuple

import torch

__all__ = ['ExtractorModelError', 'load_model', 'config_to_dict',
           'spec_key', 'pooled']

_CACHE: Dict[str, Any] = {}


class ExtractorModelError(RuntimeError):
    """Weights of an extractor model cannot be loaded (one-line message
    with the model id and how to provide it)."""


def config_to_dict(config) -> Optional[dict]:
    """A transformers config (object or dict) as a JSON-safe dict, or
    ``None``."""
    if config is None:
        return None
    if hasattr(config, 'to_dict'):
        config = config.to_dict()
    return json.loads(json.dumps(dict(config), default=str))


def spec_key(*parts) -> str:
    """Stable string key of JSON-able parts (cache key, fingerprints)."""
    return json.dumps(parts, sort_keys=True, default=str)


def pooled(out) -> torch.Tensor:
    """``get_*_features`` result as a tensor: transformers 4 returns the
    projected embeddings, transformers 5 a ``BaseModelOutputWithPooling``
    whose ``pooler_output`` holds them."""
    if torch.is_tensor(out):
        return out
    return out.pooler_output


def _one_line_error(model_id: str, exc: Exception) -> ExtractorModelError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else \
        type(exc).__name__
    return ExtractorModelError(
        f'{model_id}: cannot load the weights ({reason[:160]}); provide '
        f'them in the Hugging Face cache with `hf download {model_id}` '
        '(or `huggingface-cli download`) on a machine with internet and '
        'copy $HF_HOME, or pass model=<local folder saved with '
        'save_pretrained>')


def load_model(kind: str, model: Optional[str] = None, config=None,
               processor: Optional[dict] = None,
               tokenizer: Optional[str] = None,
               init_seed: int = 0) -> Tuple[Any, Any, Any]:
    """``(model, feature processor, tokenizer)`` of a CLIP or CLAP model.

    Args:
        kind: ``'clip'`` (``CLIPModel``, ``CLIPImageProcessor``) or
            ``'clap'`` (``ClapModel``, ``ClapFeatureExtractor``).
        model: Hub model id or local folder (real weights).
        config: ``CLIPConfig``/``ClapConfig`` or its dict (random init).
        processor: kwargs of the image processor / audio feature extractor
            (config mode; overrides for a model id).
        tokenizer: tokenizer id/folder (config mode; default ByT5 bytes).
        init_seed: torch seed of the random init (config mode).

    Returns:
        tuple: model in eval mode on CPU, processor, tokenizer.

    Raises:
        ValueError: neither or both of ``model`` and ``config``, unknown
            ``kind``.
        ExtractorModelError: weights/processor files not loadable (offline
            and not cached, wrong id).
    """
    import transformers as tf
    classes = dict(
        clip=(tf.CLIPModel, tf.CLIPConfig, tf.CLIPImageProcessor,
              tf.CLIPTokenizer),
        clap=(tf.ClapModel, tf.ClapConfig, tf.ClapFeatureExtractor,
              tf.AutoTokenizer))
    if kind not in classes:
        raise ValueError(f"kind {kind!r}: expected 'clip' or 'clap'")
    if (model is None) == (config is None):
        raise ValueError(f'{kind}: give exactly one of model=<Hub id or '
                         'folder> and config=<transformers config or dict>')
    key = spec_key(kind, model, config_to_dict(config), processor,
                   tokenizer, init_seed)
    if key in _CACHE:
        return _CACHE[key]
    model_cls, config_cls, proc_cls, tok_cls = classes[kind]
    if model is not None:
        try:
            net = model_cls.from_pretrained(model)
            proc = proc_cls.from_pretrained(model, **(processor or {}))
            tok = tok_cls.from_pretrained(tokenizer or model)
        except (OSError, ValueError) as exc:
            raise _one_line_error(model, exc) from None
    else:
        cfg = config if isinstance(config, config_cls) else \
            config_cls.from_dict(config_to_dict(config))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(init_seed))
            net = model_cls(cfg)
        proc = proc_cls(**(processor or {}))
        if tokenizer is not None:
            try:
                tok = tf.AutoTokenizer.from_pretrained(tokenizer)
            except (OSError, ValueError) as exc:
                raise _one_line_error(tokenizer, exc) from None
        else:
            tok = tf.ByT5Tokenizer()
    net.eval()
    _CACHE[key] = (net, proc, tok)
    return _CACHE[key]
