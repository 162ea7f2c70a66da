"""AVCA-style backbone: cross-attention between audio and video.

Source: AVCA, "Audio-visual generalised zero-shot learning with cross-modal
attention and language", Mercea, Riesch, Koepke, Akata, CVPR 2022
(docs/data.md): features averaged over time, one encoder per modality, and
cross-modal attention in which each modality attends to the other; trained
with triplet, regression and reconstruction losses (docs/method.md, Losses [P]).
This is a *baseline built from stftbox parts* (``ModalityEncoder`` and
``torch.nn.MultiheadAttention``), not a port of the AVCA code; the residual
form and the output projection are our reading [I].
"""
from typing import Optional

import torch
import torch.nn as nn

from stftbox.registry import MODELS
from .mean_pool_encoder import masked_mean
from .two_stream import TwoStreamBackbone

__all__ = ['AVCABackbone']


def _keep_one_key(padding_mask: torch.Tensor) -> torch.Tensor:
    """Unmask the first key of rows that are fully padded, so attention over
    them gives finite (zero-valued) outputs instead of NaN. ``[B, L]``
    bool -> ``[B, L]`` bool."""
    empty = padding_mask.all(dim=1)
    if empty.any():
        padding_mask = padding_mask.clone()
        padding_mask[empty, 0] = False
    return padding_mask


@MODELS.register_module()
class AVCABackbone(TwoStreamBackbone):
    """Averaged features -> per-modality encoders -> audio<->video
    cross-attention -> concatenation (AVCA-style).

    1. With ``temporal_average`` (default, as AVCA's averaged features) each
       modality is averaged over its valid steps: ``[B, L, D] -> [B, 1, D]``.
    2. ``encoder`` per modality -> ``a [B, La', d]``, ``v [B, Lv', d]``.
    3. Cross-attention, both directions, with residual and LayerNorm:
       ``a' = LN(a + MHA(q=a, k=v, v=v))``, ``v' = LN(v + MHA(q=v, k=a,
       v=a))``. With averaged features there is a single key, so the
       attention weight is 1 and each direction is a learned linear map of
       the other modality added to the modality itself.
    4. ``embedding = Linear(2d, E)([mean(a'); mean(v')])`` (masked means).
    5. Optional reconstruction loss: linear decoders map ``a`` and ``v``
       back to the (averaged) inputs; ``w * (MSE_a + MSE_v)``.

    Args:
        audio_channels (int): audio feature width ``D_a``.
        video_channels (int): video feature width ``D_v``.
        embed_dims (int): width ``d``. Default 512.
        encoder (dict): MODELS config of the per-modality encoder
            (``in_channels`` / ``embed_dims`` filled in). Default
            ``dict(type='ModalityEncoder')``.
        num_heads (int): attention heads (``d % num_heads == 0``). Default 8.
        attn_drop (float): attention dropout. Default 0.0.
        temporal_average (bool): average the inputs over time first (AVCA).
            False attends over the other modality's time steps. Default True.
        out_channels (int): embedding width ``E``. Default 512.
        reconstruction_weight (float): weight of the input reconstruction
            loss; 0 disables it. Default 0.5 [P].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``audio [B, La, Da]``, ``video [B, Lv, Dv]``, masks ``[B, La]`` /
        ``[B, Lv]`` bool (True = padded; None = all valid) ->
        ``dict(embedding=[B, E], audio=[B, d], video=[B, d],
        losses=dict(...))`` (``audio`` / ``video``: the pooled attended
        features of each modality).

    Raises:
        ValueError: if ``embed_dims % num_heads != 0`` or
            ``reconstruction_weight < 0``.
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 512,
                 encoder: dict = dict(type='ModalityEncoder'),
                 num_heads: int = 8, attn_drop: float = 0.0,
                 temporal_average: bool = True,
                 out_channels: int = 512,
                 reconstruction_weight: float = 0.5,
                 init_cfg: Optional[dict] = None) -> None:
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} must be divisible by '
                             f'num_heads {num_heads}')
        super().__init__(audio_channels, video_channels, embed_dims, encoder,
                         reconstruction_weight, init_cfg=init_cfg)
        self.out_channels = out_channels
        self.temporal_average = temporal_average

        self.attn_a2v = nn.MultiheadAttention(embed_dims, num_heads,
                                              dropout=attn_drop,
                                              batch_first=True)
        self.attn_v2a = nn.MultiheadAttention(embed_dims, num_heads,
                                              dropout=attn_drop,
                                              batch_first=True)
        self.norm_a = nn.LayerNorm(embed_dims)
        self.norm_v = nn.LayerNorm(embed_dims)
        self.proj = nn.Linear(2 * embed_dims, out_channels)
        self.build_decoders()

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None) -> dict:
        """Embed a batch of clips; see the class docstring for shapes."""
        am, vm = self.default_masks(audio, video, audio_padding_mask,
                                    video_padding_mask)
        if self.temporal_average:
            audio = masked_mean(audio, am).unsqueeze(1)      # [B, 1, Da]
            video = masked_mean(video, vm).unsqueeze(1)      # [B, 1, Dv]
            am = am.new_zeros(audio.shape[:2])
            vm = vm.new_zeros(video.shape[:2])
        a = self.audio_encoder(audio, am)                    # [B, La', d]
        v = self.video_encoder(video, vm)                    # [B, Lv', d]
        a_att, _ = self.attn_a2v(a, v, v, key_padding_mask=_keep_one_key(vm),
                                 need_weights=False)
        v_att, _ = self.attn_v2a(v, a, a, key_padding_mask=_keep_one_key(am),
                                 need_weights=False)
        a2 = self.norm_a(a + a_att)
        v2 = self.norm_v(v + v_att)
        a_pool, v_pool = masked_mean(a2, am), masked_mean(v2, vm)
        losses = self.reconstruction_losses(a, v, audio, video, am, vm)
        return dict(embedding=self.proj(torch.cat([a_pool, v_pool], dim=-1)),
                    audio=a_pool, video=v_pool, losses=losses)
