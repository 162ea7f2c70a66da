"""Transformer (semantic) branch of STFT ([S], docs/method.md).

Latent knowledge combiner (:class:`LatentKnowledgeCombiner`) followed by a
cross-modal transformer (:class:`CrossModalTransformer`) over the audio and
video tokens (and the slots); the embedding is a masked mean of the output
tokens. Wiring and pooling are our reading [I].
"""
import copy
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from stftbox.registry import MODELS
from .cross_modal_transformer import CrossModalTransformer  # noqa: F401
from .knowledge_combiner import LatentKnowledgeCombiner  # noqa: F401

_POOLINGS = ('mean', 'tokens', 'slots')


def masked_token_mean(tokens: torch.Tensor,
                      padding_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``tokens [B, L, d]`` over valid positions (``padding_mask``
    ``[B, L]`` bool, True = padded) -> ``[B, d]``; zeros for a row without
    valid positions."""
    keep = (~padding_mask).unsqueeze(-1).to(tokens.dtype)
    return (tokens * keep).sum(1) / keep.sum(1).clamp(min=1.0)


@MODELS.register_module()
class TransformerBranch(BaseModule):
    """STFT transformer branch: knowledge slots + cross-modal transformer.

    Args:
        embed_dims (int): token width ``d``; filled into the sub-configs.
            Default 512 [S].
        knowledge_combiner (dict, optional): MODELS config of the slot
            module (``LatentKnowledgeCombiner``); None disables the slots.
            Default ``dict(type='LatentKnowledgeCombiner')`` [S].
        cross_modal (dict): MODELS config of the token transformer
            (``CrossModalTransformer``); ``with_slots`` is set from
            ``knowledge_combiner``. Default
            ``dict(type='CrossModalTransformer')`` [S].
        pooling (str): embedding from the output tokens: ``'mean'`` (all
            valid tokens incl. slots), ``'tokens'`` (audio + video tokens
            only) or ``'slots'`` (slot tokens only; needs slots). Default
            ``'mean'`` [I].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``audio [B, La, d]``, ``video [B, Lv, d]``, masks ``[B, La]`` /
        ``[B, Lv]`` bool (True = padded, optional) -> ``dict(
        embedding=[B, d], tokens=[B, L, d], padding_mask=[B, L],
        slots=[B, K, d] or None, modality_embeddings=dict(audio=[B, d],
        video=[B, d]))`` with ``L = La + Lv (+ K)``; a modality embedding
        is the mean of that modality's valid output tokens (zeros when it
        is fully padded).

    Raises:
        ValueError: on an unknown ``pooling``, ``'slots'`` pooling without a
            combiner, or a sub-config whose ``embed_dims`` differs from
            ``embed_dims``.
    """

    def __init__(self, embed_dims: int = 512,
                 knowledge_combiner: Optional[dict] = dict(
                     type='LatentKnowledgeCombiner'),
                 cross_modal: dict = dict(type='CrossModalTransformer'),
                 pooling: str = 'mean',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pooling not in _POOLINGS:
            raise ValueError(f'pooling must be one of {_POOLINGS}, got '
                             f'{pooling!r}')
        if pooling == 'slots' and knowledge_combiner is None:
            raise ValueError("pooling='slots' needs a knowledge_combiner")
        self.embed_dims, self.pooling = embed_dims, pooling
        self.knowledge_combiner = None
        if knowledge_combiner is not None:
            self.knowledge_combiner = MODELS.build(
                self._fill(knowledge_combiner))
        cm_cfg = self._fill(cross_modal)
        cm_cfg['with_slots'] = knowledge_combiner is not None
        self.cross_modal = MODELS.build(cm_cfg)

    def _fill(self, cfg: dict) -> dict:
        cfg = copy.deepcopy(dict(cfg))
        cfg.setdefault('embed_dims', self.embed_dims)
        if cfg['embed_dims'] != self.embed_dims:
            raise ValueError(f"{cfg.get('type')}: embed_dims "
                             f"{cfg['embed_dims']} != branch embed_dims "
                             f'{self.embed_dims}')
        return cfg

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None
                ) -> Dict[str, Optional[torch.Tensor]]:
        """Embed one batch of clips; see the class docstring for shapes."""
        slots = None
        if self.knowledge_combiner is not None:
            slots = self.knowledge_combiner(audio, video, audio_padding_mask,
                                            video_padding_mask)
        out = self.cross_modal(audio, video, audio_padding_mask,
                               video_padding_mask, slots=slots)
        tokens, mask = out['tokens'], out['padding_mask']
        la, lv = audio.shape[1], video.shape[1]
        modality_embeddings = dict(
            audio=masked_token_mean(tokens[:, :la], mask[:, :la]),
            video=masked_token_mean(tokens[:, la:la + lv],
                                    mask[:, la:la + lv]))
        if self.pooling != 'mean':
            num_av = audio.shape[1] + video.shape[1]
            is_slot = torch.zeros_like(mask)
            is_slot[:, num_av:] = True
            mask = mask | (is_slot if self.pooling == 'tokens' else ~is_slot)
        return dict(embedding=masked_token_mean(tokens, mask), tokens=tokens,
                    padding_mask=out['padding_mask'], slots=slots,
                    modality_embeddings=modality_embeddings)
