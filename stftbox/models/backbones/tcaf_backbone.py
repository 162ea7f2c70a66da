"""TCaF-style backbone: a cross-modal transformer over temporal tokens.

Source: TCaF, "Temporal and cross-modal attention for audio-visual zero-shot
learning", Mercea, Hummel, Koepke, Akata, ECCV 2022 (docs/data.md): the
temporal audio and video features are encoded per modality, a transformer
attends jointly over the audio and video time steps, and the audio and video
outputs are pooled and combined into one clip embedding; trained with a
cross-entropy over class scores plus regression and reconstruction losses
(docs/method.md, Losses). This is a *baseline built from stftbox parts*
(``ModalityEncoder`` + ``CrossModalTransformer``), not a port of the TCaF
code: no spiking neurons, no fusion module; the pooling and the output
projection are our reading [I].
"""
import copy
from typing import Optional

import torch
import torch.nn as nn

from stftbox.registry import MODELS
from .mean_pool_encoder import masked_mean
from .two_stream import TwoStreamBackbone

__all__ = ['TCaFBackbone']

_POOLINGS = ('modality_concat', 'mean')


@MODELS.register_module()
class TCaFBackbone(TwoStreamBackbone):
    """Modality encoders -> cross-modal transformer -> pooling (TCaF-style).

    1. ``encoder`` per modality: ``audio [B, La, Da] -> [B, La, d]``,
       ``video [B, Lv, Dv] -> [B, Lv, d]``.
    2. ``transformer`` (default ``CrossModalTransformer``, no knowledge
       slots): joint self-attention over the ``La + Lv`` tokens (modality
       and sinusoidal position embeddings) -> ``tokens [B, La + Lv, d]``.
    3. Pooling: ``'modality_concat'`` = masked mean of the audio tokens and
       of the video tokens, concatenated (``[B, 2d]``) and projected by a
       ``Linear(2d, E)``; ``'mean'`` = masked mean over all valid tokens
       (``[B, d]``) then ``Linear(d, E)``.
    4. Optional reconstruction loss of the encoder inputs (as in
       :class:`STFTBackbone`): ``w * (MSE_a + MSE_v)`` over valid steps.

    Args:
        audio_channels (int): audio feature width ``D_a``.
        video_channels (int): video feature width ``D_v``.
        embed_dims (int): token width ``d``. Default 512.
        encoder (dict): MODELS config of the per-modality encoder
            (``in_channels`` and ``embed_dims`` are filled in). Default
            ``dict(type='ModalityEncoder')``.
        transformer (dict): MODELS config of the token transformer; called as
            ``transformer(a, v, audio_padding_mask, video_padding_mask)`` and
            returning ``dict(tokens=[B, La + Lv, d], padding_mask=[B, La +
            Lv])`` (``embed_dims`` filled in). Default
            ``dict(type='CrossModalTransformer')``.
        pooling (str): ``'modality_concat'`` (default [I]) or ``'mean'``.
        out_channels (int): embedding width ``E``. Default 512.
        reconstruction_weight (float): weight of the input reconstruction
            loss; 0 disables it. Default 0.5 [P].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``audio [B, La, Da]``, ``video [B, Lv, Dv]``, masks ``[B, La]`` /
        ``[B, Lv]`` bool (True = padded; None = all valid) ->
        ``dict(embedding=[B, E], tokens=[B, La + Lv, d], losses=dict(...))``.

    Raises:
        ValueError: on an unknown ``pooling``, a negative
            ``reconstruction_weight``, or a ``transformer`` config whose
            ``embed_dims`` differs from ``embed_dims``.
        KeyError: if a sub-config names an unregistered type (with close
            registered names).
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 512,
                 encoder: dict = dict(type='ModalityEncoder'),
                 transformer: dict = dict(type='CrossModalTransformer'),
                 pooling: str = 'modality_concat',
                 out_channels: int = 512,
                 reconstruction_weight: float = 0.5,
                 init_cfg: Optional[dict] = None) -> None:
        if pooling not in _POOLINGS:
            raise ValueError(f'pooling must be one of {_POOLINGS}, got '
                             f'{pooling!r}')
        super().__init__(audio_channels, video_channels, embed_dims, encoder,
                         reconstruction_weight, init_cfg=init_cfg)
        self.out_channels = out_channels
        self.pooling = pooling

        tr_cfg = copy.deepcopy(dict(transformer))
        tr_cfg.setdefault('embed_dims', embed_dims)
        if tr_cfg['embed_dims'] != embed_dims:
            raise ValueError(f"transformer embed_dims {tr_cfg['embed_dims']}"
                             f' != backbone embed_dims {embed_dims}')
        self.transformer = MODELS.build(tr_cfg)
        pooled = 2 * embed_dims if pooling == 'modality_concat' else embed_dims
        self.proj = nn.Linear(pooled, out_channels)
        self.build_decoders()

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None) -> dict:
        """Embed a batch of clips; see the class docstring for shapes."""
        am, vm = self.default_masks(audio, video, audio_padding_mask,
                                    video_padding_mask)
        a = self.audio_encoder(audio, am)                   # [B, La, d]
        v = self.video_encoder(video, vm)                   # [B, Lv, d]
        out = self.transformer(a, v, am, vm)
        tokens, mask = out['tokens'], out['padding_mask']   # [B, L, d]
        if self.pooling == 'modality_concat':
            la = audio.shape[1]
            pooled = torch.cat([masked_mean(tokens[:, :la], mask[:, :la]),
                                masked_mean(tokens[:, la:], mask[:, la:])],
                               dim=-1)                       # [B, 2d]
        else:
            pooled = masked_mean(tokens, mask)               # [B, d]
        losses = self.reconstruction_losses(a, v, audio, video, am, vm)
        return dict(embedding=self.proj(pooled), tokens=tokens, losses=losses)
