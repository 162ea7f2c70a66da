"""Latent knowledge combiner of the STFT transformer branch ([S], docs/method.md).

Summaries of the paper [S] describe K learnable knowledge slots, gated
(sigmoid) reads of each modality, a gated slot update
``K_t = alpha * (...) + (1 - alpha) * K_{t-1}`` and self-attention over the
slots. The concrete layers below (cross-attention reads, per-channel gates,
a linear update candidate) are our reading [I].
"""
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from timm.models.vision_transformer import Block

from stftbox.registry import MODELS

MODALITIES = ('audio', 'video')


def safe_key_padding_mask(
        padding_mask: Optional[torch.Tensor], batch: int, length: int,
        device: torch.device) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
    """Make a key padding mask safe for softmax attention.

    Args:
        padding_mask (Tensor, optional): ``[B, L]`` bool, True = padded.
        batch (int): ``B``. length (int): ``L``. device: target device.

    Returns:
        ``(mask, has_valid)``: ``mask`` ``[B, L]`` bool where rows that were
        fully padded are fully *unmasked* (so attention stays finite; the
        caller must discard those rows), or None if ``padding_mask`` is None;
        ``has_valid`` ``[B]`` bool, True where the row has a valid key.

    Raises:
        ValueError: if ``padding_mask`` is not ``[B, L]``.
    """
    if padding_mask is None:
        return None, torch.ones(batch, dtype=torch.bool, device=device)
    if tuple(padding_mask.shape) != (batch, length):
        raise ValueError(f'padding mask must be [{batch}, {length}], got '
                         f'{tuple(padding_mask.shape)}')
    padding_mask = padding_mask.to(torch.bool)
    has_valid = ~padding_mask.all(dim=1)
    return padding_mask & has_valid.unsqueeze(1), has_valid


@MODELS.register_module()
class LatentKnowledgeCombiner(BaseModule):
    """K learnable knowledge slots that read audio and video tokens [S]/[I].

    The slots live at a width ``d_k`` (``slot_dims``; tokens are projected
    ``d -> d_k`` once, the slots back ``d_k -> d`` at the end when
    ``d_k != d``). For each of ``num_iters`` rounds and each modality ``m``
    (audio, then video), with ``K`` the current slots ``[B, K, d_k]`` and
    ``X_m`` the projected tokens:

    1. read: ``R = MHA_m(LN(K), LN(X_m), LN(X_m))`` (slots are queries;
       padded tokens are masked out) [S: "reads of each modality"];
    2. read gate: ``g = sigmoid(W_g [K; R])``, gated read ``U = g * R`` [S];
    3. update gate: ``alpha = sigmoid(W_a [K; U])``, candidate
       ``C = W_c U``, ``K <- alpha * C + (1 - alpha) * K`` [S form, I layers].

    With ``share_reads`` one set of read / gate / candidate layers serves
    both modalities (the modality is told apart by the order of the reads
    and the tokens themselves) [I]. A modality that is fully padded for a
    clip leaves that clip's slots unchanged (its gates are reported as 0).
    Then ``num_layers`` timm ViT ``Block`` s apply self-attention over the
    slots [S] ("then self-attention"); ``num_layers=0`` leaves it out.

    Args:
        embed_dims (int): token width ``d``. Default 512 [S].
        num_slots (int): number of knowledge slots ``K``. Default 8 [I].
        num_heads (int): heads of the reads and of the slot blocks.
            Default 8 [I].
        num_layers (int): slot self-attention blocks. Default 1 [S] (the
            stage exists; its depth is [I]).
        num_iters (int): read/update rounds. Default 1 [I].
        mlp_ratio (float): MLP ratio of the slot blocks. Default 4.0 [I].
        slot_dims (int, optional): slot width ``d_k``; None = ``d``.
            Default None [I] (the STFT config sets 128).
        share_reads (bool): one read module for both modalities. Default
            False [I] (the STFT config sets True).
        drop (float): dropout after attention / MLP. Default 0.0 [I].
        attn_drop (float): attention dropout. Default 0.0 [I].
        init_cfg (dict, optional): mmengine init config.

    Parameters (``d_k = d``, per read module): ``4 d^2`` attention +
    ``2 (2 d^2)`` gates + ``d^2`` candidate (~4.7 M for two modules at
    ``d = 512``); at ``d_k = 128`` shared: ~0.28 M with the projections.

    Shapes:
        ``audio [B, La, d]``, ``video [B, Lv, d]``, padding masks
        ``[B, La]`` / ``[B, Lv]`` bool (True = padded, optional)
        -> slots ``[B, K, d]``; with ``return_gates=True`` also a dict
        ``read_gate`` / ``update_gate`` -> ``{modality: [B, K, d_k]}`` of
        the last round (values in (0, 1); 0 for fully padded modalities).

    Raises:
        ValueError: if ``slot_dims`` is not divisible by ``num_heads``, a
            count is < 1 (``num_layers`` may be 0), or (forward) a token
            width is not ``d`` or a mask has the wrong shape.
    """

    def __init__(self, embed_dims: int = 512, num_slots: int = 8,
                 num_heads: int = 8, num_layers: int = 1, num_iters: int = 1,
                 mlp_ratio: float = 4.0, slot_dims: Optional[int] = None,
                 share_reads: bool = False, drop: float = 0.0,
                 attn_drop: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        dk = slot_dims or embed_dims
        if dk % num_heads:
            raise ValueError(f'slot width {dk} (slot_dims or embed_dims) '
                             f'must be divisible by num_heads {num_heads}')
        if num_slots < 1 or num_iters < 1 or num_layers < 0:
            raise ValueError('num_slots and num_iters must be >= 1 and '
                             'num_layers >= 0')
        self.embed_dims, self.num_slots = embed_dims, num_slots
        self.slot_dims, self.share_reads = dk, share_reads
        self.num_iters = num_iters
        self.slots = nn.Parameter(torch.empty(num_slots, dk))
        nn.init.trunc_normal_(self.slots, std=0.02)
        self.in_proj = (nn.Linear(embed_dims, dk) if dk != embed_dims
                        else nn.Identity())
        self.out_proj = (nn.Linear(dk, embed_dims) if dk != embed_dims
                         else nn.Identity())
        self.reads = nn.ModuleDict()
        for m in (MODALITIES[:1] if share_reads else MODALITIES):
            self.reads[m] = nn.ModuleDict(dict(
                norm_q=nn.LayerNorm(dk), norm_kv=nn.LayerNorm(dk),
                attn=nn.MultiheadAttention(dk, num_heads, dropout=attn_drop,
                                           batch_first=True),
                drop=nn.Dropout(drop),
                read_gate=nn.Linear(2 * dk, dk),
                update_gate=nn.Linear(2 * dk, dk),
                candidate=nn.Linear(dk, dk)))
        self.blocks = nn.Sequential(*[
            Block(dk, num_heads, mlp_ratio=mlp_ratio, qkv_bias=True,
                  proj_drop=drop, attn_drop=attn_drop)
            for _ in range(num_layers)])
        self.norm = nn.LayerNorm(dk)

    def _tokens(self, m: str, x: torch.Tensor, batch: int,
                padding_mask: Optional[torch.Tensor]):
        """Checked, padding-zeroed tokens of ``m`` projected to ``d_k``
        (once for all rounds), the safe key mask and ``has_valid [B]``."""
        if x.dim() != 3 or x.shape[-1] != self.embed_dims or \
                x.shape[0] != batch:
            raise ValueError(f'{m} tokens must be [{batch}, L, '
                             f'{self.embed_dims}], got {tuple(x.shape)}')
        mask, has_valid = safe_key_padding_mask(padding_mask, batch,
                                                x.shape[1], x.device)
        if mask is not None:   # padded values must not leak (0 * NaN)
            x = x.masked_fill(mask.unsqueeze(-1), 0.0)
        return self.in_proj(x), mask, has_valid

    def _read(self, m: str, slots: torch.Tensor, x: torch.Tensor,
              mask: Optional[torch.Tensor], has_valid: torch.Tensor):
        """One gated read + gated update of ``slots`` from modality ``m``."""
        layers = self.reads[MODALITIES[0] if self.share_reads else m]
        kv = layers['norm_kv'](x)
        read, _ = layers['attn'](layers['norm_q'](slots), kv, kv,
                                 key_padding_mask=mask, need_weights=False)
        read = layers['drop'](read)
        valid = has_valid.view(-1, 1, 1).to(slots.dtype)
        g = torch.sigmoid(layers['read_gate'](torch.cat([slots, read], -1)))
        gated = g * read
        alpha = torch.sigmoid(
            layers['update_gate'](torch.cat([slots, gated], -1)))
        alpha = alpha * valid   # fully padded modality: keep K_{t-1}
        new = alpha * layers['candidate'](gated) + (1 - alpha) * slots
        return new, g * valid, alpha

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None,
                return_gates: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, Dict]]:
        """Slots ``[B, K, d]`` (and the gates if ``return_gates``)."""
        batch = audio.shape[0]
        inputs = dict(
            audio=self._tokens('audio', audio, batch, audio_padding_mask),
            video=self._tokens('video', video, batch, video_padding_mask))
        slots = self.slots.unsqueeze(0).expand(batch, -1, -1)
        gates = dict(read_gate={}, update_gate={})
        for _ in range(self.num_iters):
            for m in MODALITIES:
                slots, g, a = self._read(m, slots, *inputs[m])
                gates['read_gate'][m], gates['update_gate'][m] = g, a
        slots = self.out_proj(self.norm(self.blocks(slots)))
        return (slots, gates) if return_gates else slots
