"""Class-name embeddings from the text towers matching the CLIP and CLAP
extractors: CLIP text embedding followed by CLAP text embedding, each half
L2-normalised, as ClipClap-GZSL does (its 512 + 1024 = 1536-d; 512 + 512 =
1024-d with the default LAION CLAP). The concatenation is divided by
``sqrt(2)`` so the row has unit norm, which is what the dataset reader
(:func:`~stftbox.datasets.class_embeddings.build_class_embedding_matrix`)
and :func:`stftbox.apis.inference.encode_class_names_for` hand the model.
"""
import math
from typing import Optional, Sequence

import numpy as np
import torch

from stftbox.registry import EXTRACTORS
from .hf import config_to_dict, load_model, pooled

__all__ = ['CLIPCLAPTextEncoder']


def _spec(d: Optional[dict], default_model: str) -> dict:
    d = dict(d or {})
    d.pop('type', None)
    keep = {k: d.get(k) for k in ('model', 'config', 'processor',
                                  'tokenizer', 'init_seed')}
    if keep['model'] is None and keep['config'] is None:
        keep['model'] = default_model
    keep['config'] = config_to_dict(keep['config'])
    keep['init_seed'] = int(keep['init_seed'] or 0)
    return keep


@EXTRACTORS.register_module()
class CLIPCLAPTextEncoder:
    """``names -> [N, D_clip + D_clap]`` text embeddings.

    Args:
        clip (dict): the CLIP spec (``model``/``config``/``processor``/
            ``tokenizer``/``init_seed``, as :class:`CLIPImageExtractor`);
            default ``openai/clip-vit-base-patch32``.
        clap (dict): the CLAP spec; default ``laion/clap-htsat-unfused``.
        template (str): prompt, ``'{}'`` (the bare name, ClipClap).
        device (str): torch device.
    """

    def __init__(self, clip: Optional[dict] = None,
                 clap: Optional[dict] = None, template: str = '{}',
                 device: str = 'cpu'):
        from .clap_audio import CLAPAudioExtractor
        from .clip_image import CLIPImageExtractor
        self.clip_spec = _spec(clip, CLIPImageExtractor.default_model)
        self.clap_spec = _spec(clap, CLAPAudioExtractor.default_model)
        self.template = str(template)
        self.device = device
        self.clip, _, self.clip_tok = load_model('clip', **self.clip_spec)
        self.clap, _, self.clap_tok = load_model('clap', **self.clap_spec)

    @property
    def out_channels(self) -> int:
        """``D_t = projection_dim(CLIP) + projection_dim(CLAP)``."""
        return int(self.clip.config.projection_dim +
                   self.clap.config.projection_dim)

    def to_dict(self) -> dict:
        return dict(type='CLIPCLAPTextEncoder', clip=self.clip_spec,
                    clap=self.clap_spec, template=self.template)

    @staticmethod
    @torch.no_grad()
    def _embed(model, tok, texts, device) -> torch.Tensor:
        model.to(device)
        limit = int(getattr(model.config.text_config,
                            'max_position_embeddings', 77))
        if model.config.model_type == 'clap':
            limit -= 2  # RoBERTa positions start after the padding index
        enc = tok(list(texts), padding=True, truncation=True,
                  max_length=min(limit, 77), return_tensors='pt')
        enc = {k: v.to(device) for k, v in enc.items()
               if k in ('input_ids', 'attention_mask')}
        emb = pooled(model.get_text_features(**enc)).float()
        return torch.nn.functional.normalize(emb, dim=-1)

    def encode(self, names: Sequence[str], batch_size: int = 64
               ) -> np.ndarray:
        """Embed class names.

        Args:
            names: e.g. ``['Apply Eye Makeup', 'playing cello']``.

        Returns:
            ``float32 [N, D_t]``, unit L2 rows; each half (CLIP, CLAP) has
            norm ``1 / sqrt(2)``.

        Raises:
            ValueError: an empty or blank name.
        """
        names = [str(n) for n in names]
        if any(not n.strip() for n in names):
            raise ValueError(f'class names must be non-empty, got {names!r}')
        out = []
        for s in range(0, len(names), batch_size):
            texts = [self.template.format(n) for n in names[s:s + batch_size]]
            a = self._embed(self.clip, self.clip_tok, texts, self.device)
            b = self._embed(self.clap, self.clap_tok, texts, self.device)
            out.append(torch.cat([a, b], dim=-1) / math.sqrt(2.0))
        if not out:
            return np.zeros((0, self.out_channels), np.float32)
        return torch.cat(out).cpu().numpy().astype(np.float32)
