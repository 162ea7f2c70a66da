"""TCaF backbone: per-frame embedding nets, time/modality/padding token
embedding and a cross-attention transformer with a class token.

Source: TCaF, "Temporal and cross-modal attention for audio-visual zero-shot
learning", Mercea, Hummel, Koepke, Akata, ECCV 2022, as released in
github.com/ExplainableML/TCAF-GZSL (MIT), model ``Multimodal_Sequence_
Transformer``. This is our implementation of that architecture; it equals
the released model number for number (tests/test_models/test_peer_tcaf.py,
docs/baselines.md). It is built from ``BNMLP`` and timm's ``Mlp``.
"""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import Mlp

from stftbox.registry import MODELS
from ..bn_mlp import BNMLP

__all__ = ['TCaFBackbone', 'TCaFTokenEmbedding', 'TCaFLayer', 'TCaFAttention',
           'tcaf_attention_mask']

_TIME_MODES = ('index', 'seconds')


class TCaFTokenEmbedding(nn.Module):
    """Adds modality, time and padding embeddings to the frame features and
    projects them to the transformer width.

    For each modality ``m``: ``e = modal[m] + time(t) + pad * padded`` (an
    ``E``-wide vector per step), ``token = Dropout(Linear([x; e]))``. The
    time embedding is Fourier features of the step position ``t``:
    ``p = 2 pi [t, t] @ R`` with a fixed random ``R [2, E/2]`` (buffer,
    ``fourier_scale * N(0, 1)``), ``time(t) = Linear([sin p; cos p])``.

    Args:
        feat_dims (int): width ``d`` of the frame features (and the output).
        embed_dims (int): width ``E`` of the added embeddings (even).
        dropout (float): dropout on the projected tokens.
        fourier_scale (float): std of ``R``. Default 10.

    Shapes:
        ``forward(x, padding_mask, times, modality)``: ``x [B, T, d]``,
        ``padding_mask [B, T]`` bool (True = padded), ``times`` ``[T]`` or
        ``[B, T]`` positions (integer steps or seconds), ``modality`` 0
        (audio) / 1 (video) -> ``[B, T, d]``.
    """

    def __init__(self, feat_dims: int, embed_dims: int, dropout: float,
                 fourier_scale: float = 10.0) -> None:
        super().__init__()
        if embed_dims % 2:
            raise ValueError(f'TCaFTokenEmbedding: embed_dims must be even, '
                             f'got {embed_dims}')
        self.embed_dims = embed_dims
        self.modal_embedding = nn.Embedding(2, embed_dims)
        self.time_proj = nn.Linear(embed_dims, embed_dims)
        self.register_buffer(
            'fourier_randn', fourier_scale * torch.randn(2, embed_dims // 2))
        self.pad_embedding = nn.Embedding(1, embed_dims)
        self.audio_proj = nn.Linear(feat_dims + embed_dims, feat_dims)
        self.video_proj = nn.Linear(feat_dims + embed_dims, feat_dims)
        self.dropout = nn.Dropout(dropout)

    def time_embedding(self, times: torch.Tensor) -> torch.Tensor:
        """Fourier time embedding: ``times [...]`` -> ``[..., E]``."""
        # [t, t] @ R, written as the sum of its two products: a matrix
        # product may fuse them (FMA) and round differently, which at the
        # large phases here (|p| ~ 1e3 rad) changes the sines by ~1e-5
        pos = (2.0 * math.pi * times).unsqueeze(-1)
        proj = pos * self.fourier_randn[0] + pos * self.fourier_randn[1]
        return self.time_proj(torch.cat([proj.sin(), proj.cos()], dim=-1))

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor,
                times: torch.Tensor, modality: int) -> torch.Tensor:
        b, t, _ = x.shape
        time = self.time_embedding(times)
        if time.dim() == 2:
            time = time.unsqueeze(0).expand(b, t, -1)
        pad = torch.zeros_like(time)
        pad[padding_mask] = self.pad_embedding.weight[0]
        modal = self.modal_embedding.weight[modality].expand(b, t, -1)
        e = modal + time + pad
        proj = self.audio_proj if modality == 0 else self.video_proj
        return self.dropout(proj(torch.cat([x, e], dim=-1)))


class TCaFAttention(nn.Module):
    """Multi-head attention with separate bias-free q/k/v projections whose
    width ``num_heads * head_dims`` need not equal ``dims``, and a boolean
    mask filled with ``-finfo.max``.

    Computed in the peer's order (``(q k^T) * scale``, masked fill,
    softmax, ``attn v``) so that the result matches it to float rounding;
    train-mode BatchNorm over a few clips downstream amplifies even
    last-bit differences of the class token.

    Shapes:
        ``x [B, L, d]``, ``allowed [B, L, L]`` bool (query, key; True =
        attend) -> ``[B, L, d]``.
    """

    def __init__(self, dims: int, num_heads: int, head_dims: int,
                 dropout: float) -> None:
        super().__init__()
        inner = num_heads * head_dims
        self.num_heads, self.scale = num_heads, head_dims ** -0.5
        self.q = nn.Linear(dims, inner, bias=False)
        self.k = nn.Linear(dims, inner, bias=False)
        self.v = nn.Linear(dims, inner, bias=False)
        self.proj = nn.Linear(inner, dims)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor
                ) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = (f(x).view(b, n, self.num_heads, -1).transpose(1, 2)
                   for f in (self.q, self.k, self.v))
        dots = torch.einsum('bhid,bhjd->bhij', q, k) * self.scale
        dots = dots.masked_fill(~allowed[:, None],
                                -torch.finfo(dots.dtype).max)
        out = torch.einsum('bhij,bhjd->bhid', dots.softmax(dim=-1), v)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n,
                                                                     -1)))


class TCaFLayer(nn.Module):
    """Pre-norm transformer layer with ONE LayerNorm shared by the attention
    and the MLP sub-layer: ``x = x + Attn(LN(x), mask)``, ``x = x +
    MLP(LN(x))`` (TCaF; no final LayerNorm after the last layer).

    Args:
        dims (int): token width ``d``.
        num_heads (int): heads ``h``.
        head_dims (int): width per head (``h * head_dims`` need not be
            ``d``).
        mlp_dims (int): MLP hidden width (GELU, timm ``Mlp``).
        dropout (float): dropout after the attention output projection and
            in the MLP (no attention-weight dropout).

    Shapes:
        ``x [B, L, d]``, ``allowed [B, L, L]`` bool -> ``[B, L, d]``.
    """

    def __init__(self, dims: int, num_heads: int, head_dims: int,
                 mlp_dims: int, dropout: float) -> None:
        super().__init__()
        self.attn = TCaFAttention(dims, num_heads, head_dims, dropout)
        self.mlp = Mlp(dims, mlp_dims, act_layer=nn.GELU, drop=dropout)
        self.norm = nn.LayerNorm(dims)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor
                ) -> torch.Tensor:
        x = self.attn(self.norm(x), allowed) + x
        return self.mlp(self.norm(x)) + x


def tcaf_attention_mask(valid: torch.Tensor, num_audio: int,
                        cross_only: bool) -> torch.Tensor:
    """Which query may attend to which key in TCaF.

    Token order is ``[CLS, audio (num_audio), video]``. A query may attend
    to a key when both are valid; with ``cross_only`` audio queries never
    see audio keys and video queries never see video keys (CLS sees every
    valid token, every valid token sees CLS). Blocked logits are filled with
    ``-finfo.max`` (not ``-inf``, :class:`TCaFAttention`), so a padded
    query row, blocked everywhere, becomes a uniform average instead of NaN.

    Args:
        valid (Tensor): ``[B, L]`` bool, True = valid (CLS included).
        num_audio (int): number of audio tokens after CLS.
        cross_only (bool): cross-modal attention only (TCaF best configs).

    Returns:
        Tensor: ``[B, L, L]`` bool (query, key), True = attend.
    """
    allowed = valid[:, None, :] & valid[:, :, None]
    if cross_only:
        a = slice(1, num_audio + 1)
        v = slice(num_audio + 1, None)
        allowed[:, a, a] = False
        allowed[:, v, v] = False
    return allowed


@MODELS.register_module()
class TCaFBackbone(nn.Module):
    """The TCaF clip encoder up to the class token.

    1. ``audio / 255`` (VGGish byte-valued features); the video is
       L2-normalised with ``F.normalize(video)`` on dim 1, i.e. each feature
       channel of a clip is normalised **over time** (the peer's
       convention, kept for equality).
    2. ``audio_encoder`` / ``video_encoder`` (``BNMLP`` with a hidden layer)
       on every frame, padded frames included (their BatchNorm statistics
       see the padding, as in the peer).
    3. :class:`TCaFTokenEmbedding` (modality + Fourier time + learned
       padding embedding, projected back to ``d``).
    4. ``[CLS; audio; video]`` -> ``num_layers`` :class:`TCaFLayer` with the
       :func:`tcaf_attention_mask` -> ``embedding`` = the CLS output.

    The time positions depend on ``time_mode``: ``'seconds'`` (the peer's
    ``forward``, used for training) uses ``arange(T) * step_seconds``;
    ``'index'`` (the peer's ``get_embeddings``, used for every evaluation)
    uses the integer positions ``0 .. T-1``. The two give different
    embeddings; :class:`~stftbox.models.baselines.TCaF` picks the peer's
    choice for each mode.

    Args:
        audio_channels, video_channels (int): input widths ``D_a``, ``D_v``.
        embed_dims (int): token width ``d`` (TCaF ``transformer_dim``,
            300). Default 300.
        hidden_channels (int): hidden width of the frame encoders
            (``embeddings_hidden_size``). Default 512.
        encoder_dropout (float): dropout of the frame encoders
            (``embedding_dropout``). Default 0.3.
        time_embed_dims (int): width of the added embeddings
            (``transformer_embedding_dim``). Default 64.
        time_embed_dropout (float): dropout on the projected tokens
            (``transformer_embedding_dropout``). Default 0.2.
        fourier_scale (float): Default 10.
        num_layers (int): transformer depth. Default 6.
        num_heads (int): heads. Default 8.
        head_dims (int): width per head. Default 64.
        mlp_dims (int): MLP hidden width. Default 128.
        dropout (float): transformer dropout. Default 0.3.
        cross_attention_only (bool): True = the best configs' cross-modal
            attention; False = full attention among all valid tokens.
            Default True.
        audio_step_seconds, video_step_seconds (float): seconds per feature
            step for ``time_mode='seconds'`` (0.96 VGGish, 0.64 C3D; 1.0 for
            SeLaVi).
        audio_scale (float): the audio is divided by this (255).

    Shapes:
        ``forward(audio [B, Ta, Da], video [B, Tv, Dv], audio_padding_mask
        [B, Ta], video_padding_mask [B, Tv] (bool, True = padded; None = no
        padding), time_mode)`` -> dict with ``embedding [B, d]`` (CLS
        output) and, for inspection, ``audio_encoded [B*Ta, d]``,
        ``video_encoded [B*Tv, d]``, ``audio_tokens [B, Ta, d]``,
        ``video_tokens [B, Tv, d]``, ``audio_valid`` / ``video_valid``
        (bool, True = valid), ``cls_tokens [B, 1, d]``, ``tokens [B, 1 + Ta
        + Tv, d]`` (transformer output).

    Raises:
        ValueError: bad ``time_mode`` or input widths.
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 300, hidden_channels: int = 512,
                 encoder_dropout: float = 0.3, time_embed_dims: int = 64,
                 time_embed_dropout: float = 0.2,
                 fourier_scale: float = 10.0, num_layers: int = 6,
                 num_heads: int = 8, head_dims: int = 64,
                 mlp_dims: int = 128, dropout: float = 0.3,
                 cross_attention_only: bool = True,
                 audio_step_seconds: float = 0.96,
                 video_step_seconds: float = 0.64,
                 audio_scale: float = 255.0) -> None:
        super().__init__()
        self.embed_dims = embed_dims
        self.audio_channels, self.video_channels = (audio_channels,
                                                    video_channels)
        self.cross_attention_only = cross_attention_only
        self.step_seconds = (float(audio_step_seconds),
                             float(video_step_seconds))
        self.audio_scale = float(audio_scale)
        self.audio_encoder = BNMLP(audio_channels, embed_dims,
                                   hidden_channels, encoder_dropout)
        self.video_encoder = BNMLP(video_channels, embed_dims,
                                   hidden_channels, encoder_dropout)
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dims))
        self.token_embedding = TCaFTokenEmbedding(
            embed_dims, time_embed_dims, time_embed_dropout, fourier_scale)
        self.layers = nn.ModuleList(
            TCaFLayer(embed_dims, num_heads, head_dims, mlp_dims, dropout)
            for _ in range(num_layers))

    def _times(self, x: torch.Tensor, modality: int,
               time_mode: str) -> torch.Tensor:
        steps = torch.arange(x.shape[1], device=x.device)
        if time_mode == 'index':
            return steps
        # seconds as the peer's collate computes them (float64, then fp32)
        secs = steps.double() * self.step_seconds[modality]
        return secs.to(x.dtype).unsqueeze(0).expand(x.shape[0], -1)

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None,
                time_mode: str = 'index') -> Dict[str, torch.Tensor]:
        """Embed a batch of clips; see the class docstring."""
        if time_mode not in _TIME_MODES:
            raise ValueError(f'TCaFBackbone: time_mode must be one of '
                             f'{_TIME_MODES}, got {time_mode!r}')
        if audio.shape[-1] != self.audio_channels or \
                video.shape[-1] != self.video_channels:
            raise ValueError(
                f'TCaFBackbone: expected audio [..., {self.audio_channels}] '
                f'and video [..., {self.video_channels}], got '
                f'{tuple(audio.shape)} and {tuple(video.shape)}')
        b, ta, _ = audio.shape
        tv = video.shape[1]
        am = (audio.new_zeros((b, ta), dtype=torch.bool)
              if audio_padding_mask is None else audio_padding_mask.bool())
        vm = (video.new_zeros((b, tv), dtype=torch.bool)
              if video_padding_mask is None else video_padding_mask.bool())
        a = audio / self.audio_scale
        v = F.normalize(video, dim=1)
        a_enc = self.audio_encoder(a.reshape(b * ta, -1))
        v_enc = self.video_encoder(v.reshape(b * tv, -1))
        a_tok = self.token_embedding(a_enc.view(b, ta, -1), am,
                                     self._times(a, 0, time_mode), 0)
        v_tok = self.token_embedding(v_enc.view(b, tv, -1), vm,
                                     self._times(v, 1, time_mode), 1)
        cls = self.cls_token.expand(b, -1, -1)
        x = torch.cat((cls, a_tok, v_tok), dim=1)
        valid = torch.cat([am.new_ones((b, 1)), ~am, ~vm], dim=1)
        allowed = tcaf_attention_mask(valid, ta, self.cross_attention_only)
        for layer in self.layers:
            x = layer(x, allowed)
        return dict(embedding=x[:, 0], audio_encoded=a_enc,
                    video_encoded=v_enc, audio_tokens=a_tok,
                    video_tokens=v_tok, audio_valid=~am, video_valid=~vm,
                    cls_tokens=cls, tokens=x)
