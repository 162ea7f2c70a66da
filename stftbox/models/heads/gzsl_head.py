"""GZSL head: joint embedding space of clips and class names."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import Mlp

from stftbox.registry import MODELS


@MODELS.register_module()
class GZSLHead(nn.Module):
    """Projects the audio-visual embedding and the class text embeddings into
    one space, computes the training losses and the L2 distances used for
    prediction (docs/method.md, "GZSL head"; AVCA/TCaF embedding heads).

    Both projections are two-layer MLPs (``timm.layers.Mlp``). Optional
    decoders map the projections back to their inputs for the reconstruction
    loss: the class embedding ``MSE(dec_txt(c), t)`` ([P], AVCA) and, with
    ``av_reconstruction``, also the audio-visual embedding
    ``MSE(dec_av(a), x)`` (no source states it [I]).

    A loss with ``apply_to`` (``ProjectionLoss``) of ``'modalities'`` or
    ``'both'`` is also applied to each of the backbone's
    ``modality_embeddings`` (``{name: [B, E_in]}``), projected by the same
    ``av_proj``; the terms are summed.

    Args:
        in_channels (int): width ``E_in`` of the backbone's ``embedding``.
        text_channels (int): width ``D_t`` of the class text embeddings
            (300 for word2vec, 384 for all-MiniLM-L6-v2).
        embed_dims (int): width ``E`` of the joint space. Default 64.
        hidden_dims (int, optional): hidden width of every MLP (projections
            and decoders); default ``max(E_in, E)`` [I] (the STFT config
            sets 256).
        dropout (float): dropout inside the MLPs. Default 0.1.
        normalize (bool): L2-normalise both projections. Default False.
        losses (list[dict]): loss configs (MODELS), each called as
            ``loss(av [B, E], cls [C, E], targets [B])``. Default
            0.5 * triplet + 0.5 * projection ([S]).
        reconstruction_weight (float): weight of the reconstruction loss;
            0 disables the decoders. Default 0.5 ([S]).
        av_reconstruction (bool): also reconstruct the audio-visual
            embedding (the decoder ``dec_av``). Default True (today's
            TCaF-/AVCA-style baseline configs rely on it; the STFT config
            sets False, since no source states it).

    Raises:
        ValueError: if ``losses`` is empty and ``reconstruction_weight`` is
            0; (loss) if a loss applies to the modality embeddings and the
            backbone gives none, or they are not ``[B, E_in]``.
    """

    def __init__(self,
                 in_channels: int,
                 text_channels: int,
                 embed_dims: int = 64,
                 hidden_dims: Optional[int] = None,
                 dropout: float = 0.1,
                 normalize: bool = False,
                 losses: Optional[List[dict]] = None,
                 reconstruction_weight: float = 0.5,
                 av_reconstruction: bool = True) -> None:
        super().__init__()
        if losses is None:
            losses = [dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                      dict(type='ProjectionLoss', loss_weight=0.5)]
        if not losses and not reconstruction_weight:
            raise ValueError('GZSLHead: no loss configured (losses is empty '
                             'and reconstruction_weight is 0)')
        hidden = hidden_dims or max(in_channels, embed_dims)
        self.av_proj = Mlp(in_channels, hidden, embed_dims, drop=dropout)
        self.text_proj = Mlp(text_channels, hidden, embed_dims, drop=dropout)
        self.normalize = normalize
        self.losses = nn.ModuleList(MODELS.build(cfg) for cfg in losses)
        self.loss_names = [type(m).__name__ for m in self.losses]
        self.in_channels = in_channels
        self.reconstruction_weight = reconstruction_weight
        self.av_reconstruction = bool(av_reconstruction)
        if reconstruction_weight and av_reconstruction:
            self.av_decoder = Mlp(embed_dims, hidden, in_channels,
                                  drop=dropout)
        if reconstruction_weight:
            self.text_decoder = Mlp(embed_dims, hidden, text_channels,
                                    drop=dropout)

    def forward(self, embedding: torch.Tensor,
                class_embeddings: torch.Tensor) -> tuple:
        """Project clips ``[B, E_in]`` and classes ``[C, D_t]`` to
        ``([B, E], [C, E])``."""
        cls = self.text_proj(class_embeddings)
        if self.normalize:
            cls = F.normalize(cls, dim=-1)
        return self.project_clips(embedding), cls

    def project_clips(self, embedding: torch.Tensor) -> torch.Tensor:
        """``[B, E_in]`` clip (or modality) embeddings -> ``[B, E]``."""
        av = self.av_proj(embedding)
        return F.normalize(av, dim=-1) if self.normalize else av

    def _modality_projections(self, feats: dict) -> list:
        mods = feats.get('modality_embeddings')
        if not mods:
            raise ValueError(
                "GZSLHead: a loss has apply_to='modalities'/'both' but the "
                "backbone output has no 'modality_embeddings' (use "
                "apply_to='fused' with this backbone)")
        out = []
        for name, emb in mods.items():
            if emb.dim() != 2 or emb.shape[-1] != self.in_channels:
                raise ValueError(
                    f'GZSLHead: modality_embeddings[{name!r}] must be '
                    f'[B, {self.in_channels}] (in_channels), got '
                    f'{tuple(emb.shape)}')
            out.append(self.project_clips(emb))
        return out

    def loss(self, feats: Dict[str, torch.Tensor],
             class_embeddings: torch.Tensor,
             targets: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Losses for one batch.

        Args:
            feats (dict): backbone output with ``embedding`` ``[B, E_in]``.
            class_embeddings (Tensor): ``[C, D_t]`` text embeddings of the
                candidate (training) classes.
            targets (Tensor): ``[B]`` rows of ``class_embeddings``.

        Returns:
            dict: ``loss_<name>`` -> scalar, one per configured loss, plus
            ``loss_reconstruction`` when enabled.
        """
        av, cls = self(feats['embedding'], class_embeddings)
        out, mods = {}, None
        for name, loss in zip(self.loss_names, self.losses):
            key = 'loss_' + name.replace('Loss', '').lower()
            apply_to = getattr(loss, 'apply_to', 'fused')
            if apply_to in ('fused', 'both'):
                out[key] = out.get(key, 0) + loss(av, cls, targets)
            if apply_to in ('modalities', 'both'):
                if mods is None:
                    mods = self._modality_projections(feats)
                for emb in mods:
                    out[key] = out.get(key, 0) + loss(emb, cls, targets)
        if self.reconstruction_weight:
            rec = F.mse_loss(self.text_decoder(cls), class_embeddings)
            if self.av_reconstruction:
                rec = rec + F.mse_loss(self.av_decoder(av),
                                       feats['embedding'])
            out['loss_reconstruction'] = self.reconstruction_weight * rec
        return out

    def predict(self, feats: Dict[str, torch.Tensor],
                class_embeddings: torch.Tensor) -> torch.Tensor:
        """L2 distances ``[B, C]`` between clips and classes."""
        av, cls = self(feats['embedding'], class_embeddings)
        return torch.cdist(av, cls)
