"""AVCA backbone: clip-level embedding nets and a two-token (audio, video)
pre-norm transformer.

Source: AVCA, "Audio-visual generalised zero-shot learning with cross-modal
attention and language", Mercea, Riesch, Koepke, Akata, CVPR 2022, as
released in github.com/ExplainableML/AVCA-GZSL (MIT), model ``AVCA``. This
is our implementation of that architecture; it equals the released model
number for number (tests/test_models/test_peer_avca.py, docs/baselines.md).
It is built from ``BNMLP`` and timm's ViT ``Block``.
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
from timm.layers import Mlp
from timm.models.vision_transformer import Block

from stftbox.registry import MODELS
from ..bn_mlp import BNMLP
from ..mean_pool import masked_mean

__all__ = ['AVCABackbone']


@MODELS.register_module()
class AVCABackbone(nn.Module):
    """The AVCA clip encoder up to the attended features.

    1. Clip-level features: temporal inputs ``[B, T, D]`` are averaged over
       their valid steps (the benchmark's averaged ``.h5`` features have
       ``T = 1`` and pass through unchanged); ``[B, D]`` inputs are used as
       they are.
    2. ``phi_a = audio_encoder(a)``, ``phi_v = video_encoder(v)``
       (``BNMLP`` with a hidden layer, width ``d`` = 300).
    3. Two tokens ``[phi_a + pos[0], phi_v + pos[1]]`` -> ``num_layers``
       pre-norm ViT blocks (separate LayerNorms for attention and MLP, fused
       bias-free qkv, no mask, no final LayerNorm) -> ``attn [B, 2, d]``.
    4. Residual **without** the position embedding: ``audio = phi_a +
       attn[:, 0]``, ``video = phi_v + attn[:, 1]``.

    ``pos`` (``pos_embed [2, d]``) is a parameter that is never trained: the
    peer leaves it out of its optimiser, so it keeps its random
    initialisation; here it has ``requires_grad=False`` (it still counts as
    a parameter, 3,331,508 in total at the UCF cls widths).

    Args:
        audio_channels, video_channels (int): input widths ``D_a``, ``D_v``.
        embed_dims (int): width ``d`` (300 in the peer). Default 300.
        hidden_channels (int): hidden width of the encoders
            (``embeddings_hidden_size``). Default 512.
        encoder_dropout (float): dropout of the encoders and the transformer
            (``embedding_dropout``). Default 0.2.
        momentum (float): BatchNorm momentum of the encoders' second
            BatchNorm (the peer's ``momentum`` run argument; 0.99 for cls
            features). Default 0.99.
        num_layers (int): transformer depth. Default 1.
        num_heads (int): heads (``num_heads * head_dims`` must be ``d``).
            Default 3.
        mlp_dims (int): MLP hidden width. Default 64.

    Shapes:
        ``forward(audio, video, audio_padding_mask=None,
        video_padding_mask=None)``: ``audio [B, Ta, Da]`` or ``[B, Da]``,
        ``video [B, Tv, Dv]`` or ``[B, Dv]``, masks ``[B, T]`` bool (True =
        padded) -> dict ``audio [B, d]``, ``video [B, d]`` (attended),
        ``embedding`` (= ``video``, the branch AVCA evaluates), ``phi_a``,
        ``phi_v`` ``[B, d]``, ``tokens_in`` / ``tokens`` ``[B, 2, d]``.

    Raises:
        ValueError: ``embed_dims`` not divisible by ``num_heads`` or wrong
            input widths.
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 300, hidden_channels: int = 512,
                 encoder_dropout: float = 0.2, momentum: float = 0.99,
                 num_layers: int = 1, num_heads: int = 3,
                 mlp_dims: int = 64) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'AVCABackbone: embed_dims {embed_dims} must be '
                             f'divisible by num_heads {num_heads}')
        self.embed_dims = embed_dims
        self.audio_channels, self.video_channels = (audio_channels,
                                                    video_channels)
        self.audio_encoder = BNMLP(audio_channels, embed_dims,
                                   hidden_channels, encoder_dropout, momentum)
        self.video_encoder = BNMLP(video_channels, embed_dims,
                                   hidden_channels, encoder_dropout, momentum)
        self.blocks = nn.ModuleList()
        for _ in range(num_layers):
            block = Block(embed_dims, num_heads, qkv_bias=False,
                          proj_drop=encoder_dropout, norm_layer=nn.LayerNorm)
            block.mlp = Mlp(embed_dims, mlp_dims, act_layer=nn.GELU,
                            drop=encoder_dropout)
            self.blocks.append(block)
        self.pos_embed = nn.Parameter(torch.randn(2, embed_dims),
                                      requires_grad=False)

    @staticmethod
    def _clip_level(x: torch.Tensor,
                    padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        if x.dim() == 2:
            return x
        if x.shape[1] == 1:
            return x[:, 0]
        if padding_mask is None:
            return x.mean(dim=1)
        return masked_mean(x, padding_mask.bool())

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        """Embed a batch of clips; see the class docstring."""
        if audio.shape[-1] != self.audio_channels or \
                video.shape[-1] != self.video_channels:
            raise ValueError(
                f'AVCABackbone: expected audio [..., {self.audio_channels}] '
                f'and video [..., {self.video_channels}], got '
                f'{tuple(audio.shape)} and {tuple(video.shape)}')
        a = self._clip_level(audio, audio_padding_mask)
        v = self._clip_level(video, video_padding_mask)
        phi_a, phi_v = self.audio_encoder(a), self.video_encoder(v)
        x = torch.stack((phi_a + self.pos_embed[0], phi_v + self.pos_embed[1]),
                        dim=1)
        tokens_in = x
        for block in self.blocks:
            x = block(x)
        audio_out, video_out = phi_a + x[:, 0], phi_v + x[:, 1]
        return dict(embedding=video_out, audio=audio_out, video=video_out,
                    phi_a=phi_a, phi_v=phi_v, tokens_in=tokens_in, tokens=x)
