"""What the audio-visual backbones share: one encoder per modality, default
padding masks and the input reconstruction loss."""
import copy
import inspect
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from stftbox.registry import MODELS
from stftbox.ops.tied_reconstruction import tied_reconstruction_mse


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


DECODERS = ('linear', 'tied', 'bottleneck')


def _takes_return_linear(module: nn.Module) -> bool:
    """Whether ``module.forward`` has a ``return_linear`` argument."""
    try:
        return 'return_linear' in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False


class _TiedDecoder(nn.Module):
    """``x W + b``: the transpose of an encoder weight ``W [d, D]`` (given
    at call time) plus an own bias ``b [D]``."""

    def __init__(self, out_channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight.t(), self.bias)


class TwoStreamBackbone(BaseModule):
    """Base of the audio-visual backbones (STFT, TCaF- and AVCA-style).

    Builds ``audio_encoder`` and ``video_encoder`` (MODELS config
    ``encoder``, e.g. ``ModalityEncoder``: ``[B, L, C_in] -> [B, L, d]``).
    A subclass calls :meth:`build_decoders` at the end of its ``__init__``
    (after its own layers, which keeps their random initialisation order)
    and :meth:`reconstruction_losses` in ``forward``: the AVCA-style
    reconstruction loss [P] (docs/method.md, Losses), a decoder per
    modality from ``d`` back to the input width (linear by default; see
    :meth:`build_decoders`), masked MSE on valid steps, times
    ``reconstruction_weight``.

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

    #: compute a tied decoder's reconstruction loss from the encoders'
    #: linear outputs (:func:`tied_reconstruction_mse`, no decoded tensor);
    #: False = decode and take :func:`masked_mse` (same value)
    tied_from_linear = True

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

    def build_decoders(self, kind: str = 'linear',
                       hidden_dims: int = 64) -> None:
        """Decoders ``d -> D_a`` and ``d -> D_v`` when the reconstruction
        weight is positive.

        Args:
            kind (str): ``'linear'`` (``nn.Linear(d, D)``, the AVCA form
                [P]); ``'tied'`` (the transpose of the encoder's first
                linear layer ``fc`` plus an own bias: ``D`` parameters
                instead of ``d D``; tied autoencoder weights [I]);
                ``'bottleneck'`` (``Linear(d, h) -> GELU -> Linear(h, D)``,
                ``h = hidden_dims`` [I]).
            hidden_dims (int): ``h`` of ``'bottleneck'``.

        Raises:
            ValueError: unknown ``kind``, ``hidden_dims < 1``, or ``'tied'``
                with an encoder without an ``fc`` ``nn.Linear`` of the
                right shape.
        """
        if kind not in DECODERS:
            raise ValueError(f'decoder must be one of {DECODERS}, got '
                             f'{kind!r}')
        self.decoder_kind = kind
        if self.reconstruction_weight <= 0:
            return
        audio_channels, video_channels = self._input_channels
        for m, chans in (('audio', audio_channels),
                         ('video', video_channels)):
            if kind == 'linear':
                dec = nn.Linear(self.embed_dims, chans)
            elif kind == 'bottleneck':
                if hidden_dims < 1:
                    raise ValueError('decoder_hidden_dims must be >= 1, got '
                                     f'{hidden_dims}')
                dec = nn.Sequential(nn.Linear(self.embed_dims, hidden_dims),
                                    nn.GELU(), nn.Linear(hidden_dims, chans))
            else:
                fc = getattr(getattr(self, f'{m}_encoder'), 'fc', None)
                if not isinstance(fc, nn.Linear) or tuple(
                        fc.weight.shape) != (self.embed_dims, chans):
                    raise ValueError(
                        "decoder='tied' needs encoders with an nn.Linear "
                        f'`fc` of weight [{self.embed_dims}, {chans}] '
                        f'(the {m} encoder has none)')
                dec = _TiedDecoder(chans)
            setattr(self, f'{m}_decoder', dec)
        if kind == 'tied':   # encoders that can give their linear output
            self._linear_modalities = tuple(
                m for m in ('audio', 'video') if _takes_return_linear(
                    getattr(self, f'{m}_encoder')))

    def decode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct the ``modality`` input ``[B, L, D]`` from encoded
        steps ``x`` ``[B, L, d]`` (needs the decoders)."""
        dec = getattr(self, f'{modality}_decoder')
        if isinstance(dec, _TiedDecoder):
            return dec(x, getattr(self, f'{modality}_encoder').fc.weight)
        return dec(x)

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

    def _tied_from_linear(self, modality: str) -> bool:
        """Whether the reconstruction of ``modality`` is computed from the
        encoder's linear output (:func:`tied_reconstruction_mse`): a tied
        decoder and an encoder whose ``forward`` takes ``return_linear``
        (checked once, in :meth:`build_decoders`)."""
        return (self.tied_from_linear
                and modality in getattr(self, '_linear_modalities', ()))

    def encode(self, modality: str, x: torch.Tensor, padding_mask,
               with_linear: bool = False) -> tuple:
        """Encode one modality.

        Args:
            modality (str): ``'audio'`` or ``'video'``.
            x (Tensor): ``[B, L, D]`` input features.
            padding_mask (Tensor | None): ``[B, L]`` bool, True = padded.
            with_linear (bool): also return the encoder's linear output.

        Returns:
            tuple: ``(encoded [B, L, d], linear)``; ``linear`` is the
            encoder's ``fc`` output ``[B, L, d]`` when ``with_linear`` and
            the tied reconstruction can use it (:meth:`_tied_from_linear`),
            else None.
        """
        enc = getattr(self, f'{modality}_encoder')
        if with_linear and self._tied_from_linear(modality):
            return enc(x, padding_mask, return_linear=True)
        return enc(x, padding_mask), None

    def reconstruction_losses(self, a: torch.Tensor, v: torch.Tensor,
                              audio: torch.Tensor, video: torch.Tensor,
                              am: torch.Tensor, vm: torch.Tensor,
                              linear: Optional[dict] = None
                              ) -> Dict[str, torch.Tensor]:
        """``{'loss_input_reconstruction': w * (MSE_a + MSE_v)}`` from the
        encoded steps ``a`` ``[B, T_a, d]``, ``v`` ``[B, T_v, d]`` and the
        inputs; empty when the weight is 0. ``linear`` (``dict(audio=...,
        video=...)``, from :meth:`encode`) holds the encoders' linear
        outputs: a tied decoder's MSE is then computed without decoding
        (:func:`tied_reconstruction_mse`, same value and gradients)."""
        if self.reconstruction_weight <= 0:
            return {}
        rec = 0.0
        for m, enc, target, mask in (('audio', a, audio, am),
                                     ('video', v, video, vm)):
            lin = (linear or {}).get(m)
            if lin is not None and not target.requires_grad:
                fc = getattr(self, f'{m}_encoder').fc
                rec = rec + tied_reconstruction_mse(
                    enc, lin, target, fc.weight, fc.bias,
                    getattr(self, f'{m}_decoder').bias, mask)
            else:
                rec = rec + masked_mse(self.decode(m, enc), target, mask)
        return dict(loss_input_reconstruction=self.reconstruction_weight *
                    rec)
