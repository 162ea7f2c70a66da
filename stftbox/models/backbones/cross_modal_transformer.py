"""Cross-modal transformer of the STFT transformer branch ([S], docs/method.md).

timm ViT ``Block`` s over the concatenated audio and video tokens (and
optionally the knowledge slots as extra tokens), with cross-attention
between the modalities by default (each token attends to the tokens of the
other modality and to the slots: the AVCA / AVMST lineage [P]) or joint
self-attention over all tokens (option). Modality (type) embeddings,
positional encoding and slot tokens are our reading [I].
"""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from timm.layers import Attention
from timm.models.vision_transformer import Block

from stftbox.registry import MODELS


def sincos_positions(length: int, dims: int, device=None,
                     dtype=torch.float32) -> torch.Tensor:
    """Fixed sinusoidal position codes (Vaswani et al. 2017, Sec. 3.5).

    Returns:
        ``[length, dims]``; even channels sine, odd channels cosine.
    """
    pos = torch.arange(length, device=device, dtype=torch.float32)
    half = (dims + 1) // 2
    freq = torch.exp(torch.arange(half, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) * 2.0 / dims))
    ang = pos[:, None] * freq[None]
    out = torch.zeros(length, dims, device=device, dtype=torch.float32)
    out[:, 0::2] = torch.sin(ang)[:, :(dims + 1) // 2]
    out[:, 1::2] = torch.cos(ang)[:, :dims // 2]
    return out.to(dtype)


def build_attn_mask(padding_mask: torch.Tensor,
                    token_types: Optional[torch.Tensor] = None
                    ) -> torch.Tensor:
    """Boolean attention mask from a key padding mask.

    Args:
        padding_mask (Tensor): ``[B, L]`` bool, True = padded.
        token_types (Tensor | None): ``[L]`` int, the group of each token
            (0 audio, 1 video, 2 slots). Given: cross-attention, query
            ``i`` may attend key ``j`` only if ``j`` is of another group.

    Returns:
        ``[B, 1, L, L]`` bool, True = may attend (SDPA convention): query
        ``i`` may attend a valid key ``j`` (of another group when
        ``token_types`` is given); a query without any such key (e.g. all
        tokens of the other modality padded) attends to itself only. So
        every row has a finite score and softmax never yields NaN; valid
        queries only ever see valid keys.
    """
    length = padding_mask.shape[1]
    eye = torch.eye(length, dtype=torch.bool, device=padding_mask.device)
    allowed = (~padding_mask)[:, None, None, :].expand(-1, 1, length, -1)
    if token_types is None:
        return (allowed | eye).contiguous()
    allowed = allowed & (token_types[:, None] != token_types[None, :])
    return (allowed | (eye & ~allowed.any(-1, keepdim=True))).contiguous()


ATTENTIONS = ('cross', 'joint')


def attention_with_head_dims(head_dims: Optional[int]) -> type:
    """timm ``Attention`` whose heads have width ``head_dims`` (so the
    attention works at ``num_heads * head_dims`` inside a ``d``-wide
    block); ``Attention`` itself for None (``head_dims = d / num_heads``).

    Raises:
        ValueError: ``head_dims < 1``.
    """
    if head_dims is None:
        return Attention
    if head_dims < 1:
        raise ValueError(f'attn_head_dims must be >= 1, got {head_dims}')

    class NarrowAttention(Attention):

        def __init__(self, dim: int, **kwargs) -> None:
            super().__init__(dim, attn_head_dim=head_dims, **kwargs)

    return NarrowAttention


@MODELS.register_module()
class CrossModalTransformer(BaseModule):
    """Cross-modal attention over audio + video (+ slot) tokens [S]/[P]/[I].

    ``tokens = [audio + e_a + p; video + e_v + p; slots + e_k]`` (``e``:
    learnable modality embeddings, ``p``: sinusoidal positions within each
    modality), then ``num_layers`` timm ViT ``Block`` s with a boolean
    ``attn_mask`` (:func:`build_attn_mask`) and a final LayerNorm. With
    ``attention='cross'`` an audio token attends to the video tokens and
    the slots, a video token to the audio tokens and the slots, a slot to
    the audio and video tokens (one block's weights for all, as AVCA's
    shared cross-attention); with ``'joint'`` every token attends to all. Padded
    tokens never influence valid ones, and padded output positions are set
    to zero, so changing the values at padded positions changes nothing in
    the output.

    Args:
        embed_dims (int): token width ``d``. Default 512 [S].
        num_heads (int): attention heads. Default 8 [I].
        num_layers (int): transformer blocks. Default 2 [I] (the STFT
            config sets 1).
        mlp_ratio (float): MLP hidden ratio. Default 4.0 [I] (the STFT
            config sets 2).
        attn_head_dims (int, optional): width of each attention head;
            None = ``d / num_heads`` (full-width attention). Default None.
        drop (float): dropout after attention / MLP. Default 0.0 [I].
        attn_drop (float): attention dropout. Default 0.0 [I].
        drop_path (float): stochastic depth (max, linear over blocks).
            Default 0.0 [I].
        pos_encoding (str, optional): ``'sincos'`` or None. Default
            ``'sincos'`` [I].
        modality_embed (bool): learnable type embeddings ``e``. Default
            True [I].
        attention (str): ``'cross'`` (default [P]: cross-attention between
            the modalities, the authors' AVCA / AVMST lineage) or
            ``'joint'`` ([I]: self-attention over all tokens).
        with_slots (bool): expect knowledge slots as extra tokens (creates
            the slot type embedding). Default False.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``audio [B, La, d]``, ``video [B, Lv, d]``, masks ``[B, La]`` /
        ``[B, Lv]`` bool (True = padded, optional), ``slots [B, K, d]``
        (only and always when ``with_slots``) -> ``dict(tokens=[B, L, d],
        padding_mask=[B, L])`` with ``L = La + Lv (+ K)`` in that order.

    Raises:
        ValueError: on ``embed_dims % num_heads != 0``, an unknown
            ``pos_encoding`` / ``attention``, or (forward) wrong widths /
            mask shapes, or
            slots given / missing against ``with_slots``.
    """

    def __init__(self, embed_dims: int = 512, num_heads: int = 8,
                 num_layers: int = 2, mlp_ratio: float = 4.0,
                 drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0,
                 attn_head_dims: Optional[int] = None,
                 pos_encoding: Optional[str] = 'sincos',
                 modality_embed: bool = True,
                 attention: str = 'cross',
                 with_slots: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} must be divisible by '
                             f'num_heads {num_heads}')
        if pos_encoding not in (None, 'sincos'):
            raise ValueError(f"pos_encoding must be 'sincos' or None, got "
                             f'{pos_encoding!r}')
        if attention not in ATTENTIONS:
            raise ValueError(f'attention must be one of {ATTENTIONS}, got '
                             f'{attention!r}')
        self.embed_dims, self.with_slots = embed_dims, with_slots
        self.pos_encoding, self.attention = pos_encoding, attention
        self.modality_embed = None
        if modality_embed:
            self.modality_embed = nn.Parameter(
                torch.zeros(3 if with_slots else 2, embed_dims))
            nn.init.trunc_normal_(self.modality_embed, std=0.02)
        attn_layer = attention_with_head_dims(attn_head_dims)
        dpr = [drop_path * i / max(num_layers - 1, 1)
               for i in range(num_layers)]
        self.blocks = nn.ModuleList([
            Block(embed_dims, num_heads, mlp_ratio=mlp_ratio, qkv_bias=True,
                  proj_drop=drop, attn_drop=attn_drop, drop_path=dpr[i],
                  attn_layer=attn_layer)
            for i in range(num_layers)])
        self.norm = nn.LayerNorm(embed_dims)

    def _prepare(self, x: torch.Tensor, mask: Optional[torch.Tensor],
                 idx: int, name: str, positions: bool):
        batch, length, width = x.shape
        if width != self.embed_dims:
            raise ValueError(f'{name} must be [B, L, {self.embed_dims}], got '
                             f'{tuple(x.shape)}')
        if mask is None:
            mask = torch.zeros(batch, length, dtype=torch.bool,
                               device=x.device)
        elif tuple(mask.shape) != (batch, length):
            raise ValueError(f'{name} padding mask must be [{batch}, '
                             f'{length}], got {tuple(mask.shape)}')
        mask = mask.to(torch.bool)
        x = x.masked_fill(mask.unsqueeze(-1), 0.0)
        if self.modality_embed is not None:
            x = x + self.modality_embed[idx]
        if positions and self.pos_encoding == 'sincos':
            x = x + sincos_positions(length, width, x.device, x.dtype)
        return x, mask

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None,
                slots: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        """Contextualised tokens ``[B, La + Lv (+ K), d]`` and their mask."""
        if (slots is not None) != self.with_slots:
            raise ValueError('slots must be given iff with_slots=True')
        parts = [self._prepare(audio, audio_padding_mask, 0, 'audio', True),
                 self._prepare(video, video_padding_mask, 1, 'video', True)]
        if slots is not None:
            if slots.shape[0] != audio.shape[0]:
                raise ValueError('slots and audio batch sizes differ')
            parts.append(self._prepare(slots, None, 2, 'slots', False))
        x = torch.cat([p[0] for p in parts], dim=1)
        padding_mask = torch.cat([p[1] for p in parts], dim=1)
        types = None
        if self.attention == 'cross':
            types = torch.cat([torch.full((p[0].shape[1], ), i,
                                          device=x.device)
                               for i, p in enumerate(parts)])
        attn_mask = build_attn_mask(padding_mask, types)
        for blk in self.blocks:
            x = blk(x, attn_mask=attn_mask)
        x = self.norm(x).masked_fill(padding_mask.unsqueeze(-1), 0.0)
        return dict(tokens=x, padding_mask=padding_mask)
