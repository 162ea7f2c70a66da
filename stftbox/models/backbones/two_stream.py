"""What the audio-visual backbones share: one encoder per modality, default
padding masks and the input reconstruction loss."""
import copy
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import MODELS


def masked_mse(pred: torch.Tensor, target: torch.Tensor,
               padding_mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid steps only.

    Args:
        pred, target (Tensor): ``[B, L, C]``.
        padding_mask (Tensor): ``[B, L]`` bool, True = padded (ignored).

    Returns:
        Scalar: mean of ``(pred - target)^2`` over valid ``(b, l, c)``
        (squared feature units); 0 if nothing is valid.
    """
    keep = (~padding_mask).unsqueeze(-1).to(pred.dtype)
    err = ((pred - target) ** 2 * keep).sum()
    return err / (keep.sum() * pred.shape[-1]).clamp(min=1.0)


def fill_cfg(cfg: dict, forced: Dict[str, int], defaults: Dict[str, int],
             where: str) -> dict:
    """Copy ``cfg``, set ``defaults`` when absent and check ``forced``.

    Raises:
        ValueError: if ``cfg`` sets a ``forced`` key to another value (e.g. a
            sub-module width that contradicts the backbone's).
    """
    cfg = copy.deepcopy(dict(cfg))
    for key, val in {**defaults, **forced}.items():
        cfg.setdefault(key, val)
    for key, val in forced.items():
        if cfg[key] != val:
            raise ValueError(f'{where}: {key}={cfg[key]} but the backbone '
                             f'needs {val}')
    return cfg


class TwoStreamBackbone(BaseModule):
    """Base of the audio-visual backbones (STFT, TCaF- and AVCA-style).

    Builds ``audio_encoder`` and ``video_encoder`` (MODELS config
    ``encoder``, e.g. ``ModalityEncoder``: ``[B, L, C_in] -> [B, L, d]``).
    A subclass calls :meth:`build_decoders` at the end of its ``__init__``
    (after its own layers, which keeps their random initialisation order)
    and :meth:`reconstruction_losses` in ``forward``: the AVCA-style
    reconstruction loss [P] (docs/method.md, Losses), a linear decoder per
    modality from ``d`` back to the input width, masked MSE on valid steps,
    times ``reconstruction_weight``.

    Args:
        audio_channels, video_channels (int): input widths ``D_a``, ``D_v``.
        embed_dims (int): encoder width ``d``.
        encoder (dict): MODELS config of one modality encoder; its
            ``in_channels`` / ``embed_dims`` are set here.
        reconstruction_weight (float): 0 builds no decoders and adds no
            loss.

    Raises:
        ValueError: ``reconstruction_weight < 0`` or an encoder config whose
            ``embed_dims`` contradicts ``embed_dims``.
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int, encoder: dict,
                 reconstruction_weight: float,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if reconstruction_weight < 0:
            raise ValueError('reconstruction_weight must be >= 0, got '
                             f'{reconstruction_weight}')
        self.embed_dims = embed_dims
        self.reconstruction_weight = float(reconstruction_weight)
        self._input_channels = (audio_channels, video_channels)
        self.audio_encoder = MODELS.build(fill_cfg(
            encoder, dict(in_channels=audio_channels, embed_dims=embed_dims),
            {}, 'encoder'))
        self.video_encoder = MODELS.build(fill_cfg(
            encoder, dict(in_channels=video_channels, embed_dims=embed_dims),
            {}, 'encoder'))

    def build_decoders(self) -> None:
        """Linear decoders ``d -> D_a`` and ``d -> D_v`` when the
        reconstruction weight is positive."""
        if self.reconstruction_weight > 0:
            audio_channels, video_channels = self._input_channels
            self.audio_decoder = nn.Linear(self.embed_dims, audio_channels)
            self.video_decoder = nn.Linear(self.embed_dims, video_channels)

    @staticmethod
    def default_masks(audio: torch.Tensor, video: torch.Tensor,
                      audio_padding_mask: Optional[torch.Tensor],
                      video_padding_mask: Optional[torch.Tensor]
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Boolean masks ``[B, T_a]``, ``[B, T_v]`` (True = padded); no
        padding where a mask is None."""
        if audio_padding_mask is None:
            audio_padding_mask = audio.new_zeros(audio.shape[:2],
                                                 dtype=torch.bool)
        if video_padding_mask is None:
            video_padding_mask = video.new_zeros(video.shape[:2],
                                                 dtype=torch.bool)
        return audio_padding_mask.bool(), video_padding_mask.bool()

    def reconstruction_losses(self, a: torch.Tensor, v: torch.Tensor,
                              audio: torch.Tensor, video: torch.Tensor,
                              am: torch.Tensor,
                              vm: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``{'loss_input_reconstruction': w * (MSE_a + MSE_v)}`` from the
        encoded steps ``a`` ``[B, T_a, d]``, ``v`` ``[B, T_v, d]`` and the
        inputs; empty when the weight is 0."""
        if self.reconstruction_weight <= 0:
            return {}
        rec = (masked_mse(self.audio_decoder(a), audio, am) +
               masked_mse(self.video_decoder(v), video, vm))
        return dict(loss_input_reconstruction=self.reconstruction_weight *
                    rec)
