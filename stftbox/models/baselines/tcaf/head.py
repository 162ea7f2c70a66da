"""TCaF head: projections of the class token and of the class text into the
joint space, their decoders, and the TCaF losses."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.registry import MODELS
from ..bn_mlp import BNMLP

__all__ = ['TCaFHead']


@MODELS.register_module()
class TCaFHead(nn.Module):
    """Joint space, losses and distances of TCaF (Mercea et al., ECCV 2022;
    docs/baselines.md).

    * ``clip_proj`` (peer ``O_proj``): ``BNMLP(d, E, hidden)``, the clip
      embedding ``theta_o``; ``clip_decoder`` (``D_o``) maps it back to
      ``d``: ``rho_o``.
    * ``text_proj`` (``W_proj``): ``BNMLP(D_t, E)`` (one stage), the class
      embedding ``theta_w``; ``text_decoder`` (``D_w``) maps it back:
      ``rho_w``.

    Training loss on a batch with per-clip class texts ``w = t[y]``:
    ``CE(theta_o @ text_proj(t_train)^T, y)`` (``cross_entropy``, the
    registered ``DotProductCrossEntropyLoss``) ``+ MSE(theta_o, theta_w)``
    (``regression``, ``ProjectionLoss``) ``+ w_rec * (MSE(w, rho_o) +
    MSE(w, rho_w))`` (``reconstruction``). ``text_proj`` runs twice, on
    ``w`` (B rows) and on the training classes (a separate BatchNorm batch),
    in that order, as in the peer. Outputs are after BN -> ReLU, hence
    non-negative. Prediction: plain Euclidean ``cdist(theta_o,
    text_proj(t))`` (not squared).

    Args:
        in_channels (int): width ``d`` of the class token (300).
        text_channels (int): width ``D_t`` of the class text (300).
        embed_dims (int): joint width ``E`` (``dim_out``). Default 64.
        hidden_channels (int): hidden width of ``clip_proj`` /
            ``clip_decoder`` (``decoder_hidden_size``). Default 512.
        dropout (float): their dropout (``decoder_dropout``). Default 0.1.
        text_dropout (float): dropout of ``text_proj`` / ``text_decoder``
            (``additional_dropout``). Default 0.1.
        cross_entropy (dict | None): loss config (MODELS) called as
            ``loss(theta_o, text_proj(t_train), y)``; None disables it.
        regression (dict | None): loss config called as ``loss(theta_o,
            theta_w, arange(B))``; None disables it.
        reconstruction_weight (float): 0 disables the reconstruction loss.
            Default 1.0.

    Raises:
        ValueError: reconstruction with ``in_channels != text_channels`` (the
            peer compares the text with ``D_o``'s ``d``-wide output), or no
            loss at all.
    """

    def __init__(self, in_channels: int = 300, text_channels: int = 300,
                 embed_dims: int = 64, hidden_channels: int = 512,
                 dropout: float = 0.1, text_dropout: float = 0.1,
                 cross_entropy: Optional[dict] = dict(
                     type='DotProductCrossEntropyLoss'),
                 regression: Optional[dict] = dict(type='ProjectionLoss'),
                 reconstruction_weight: float = 1.0) -> None:
        super().__init__()
        if reconstruction_weight and in_channels != text_channels:
            raise ValueError(
                f'TCaFHead: the reconstruction loss compares the class text '
                f'({text_channels}-d) with the decoded clip embedding '
                f'({in_channels}-d); they must be equal or '
                'reconstruction_weight 0')
        if not (cross_entropy or regression or reconstruction_weight):
            raise ValueError('TCaFHead: no loss configured')
        self.clip_proj = BNMLP(in_channels, embed_dims, hidden_channels,
                               dropout)
        self.clip_decoder = BNMLP(embed_dims, in_channels, hidden_channels,
                                  dropout)
        self.text_proj = BNMLP(text_channels, embed_dims, None, text_dropout)
        self.text_decoder = BNMLP(embed_dims, text_channels, None,
                                  text_dropout)
        self.cross_entropy = MODELS.build(cross_entropy) \
            if cross_entropy else None
        self.regression = MODELS.build(regression) if regression else None
        self.reconstruction_weight = float(reconstruction_weight)

    def forward_train(self, embedding: torch.Tensor,
                      text: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The peer's forward outputs: ``theta_o [B, E]``, ``rho_o [B, d]``,
        ``w = text [B, D_t]``, ``theta_w [B, E]``, ``rho_w [B, D_t]``."""
        theta_o = self.clip_proj(embedding)
        rho_o = self.clip_decoder(theta_o)
        theta_w = self.text_proj(text)
        rho_w = self.text_decoder(theta_w)
        return dict(theta_o=theta_o, rho_o=rho_o, w=text, theta_w=theta_w,
                    rho_w=rho_w)

    def loss(self, feats: Dict[str, torch.Tensor],
             class_embeddings: torch.Tensor,
             targets: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Losses of one batch.

        Args:
            feats (dict): backbone output with ``embedding [B, d]``.
            class_embeddings (Tensor): ``[C, D_t]`` training-class texts.
            targets (Tensor): ``[B]`` rows of ``class_embeddings``.

        Returns:
            dict: ``loss_cross_entropy``, ``loss_regression``,
            ``loss_reconstruction`` (those enabled).
        """
        out = self.forward_train(feats['embedding'],
                                 class_embeddings[targets])
        losses = {}
        if self.cross_entropy is not None:
            cls = self.text_proj(class_embeddings)
            losses['loss_cross_entropy'] = self.cross_entropy(
                out['theta_o'], cls, targets)
        if self.regression is not None:
            rows = torch.arange(len(targets), device=targets.device)
            losses['loss_regression'] = self.regression(
                out['theta_o'], out['theta_w'], rows)
        if self.reconstruction_weight:
            losses['loss_reconstruction'] = self.reconstruction_weight * (
                F.mse_loss(out['w'], out['rho_o']) +
                F.mse_loss(out['w'], out['rho_w']))
        return losses

    def embed(self, feats: Dict[str, torch.Tensor],
              class_embeddings: torch.Tensor) -> tuple:
        """Evaluation embeddings ``(theta_o [B, E], theta_w [C, E])``."""
        return (self.clip_proj(feats['embedding']),
                self.text_proj(class_embeddings))

    def predict(self, feats: Dict[str, torch.Tensor],
                class_embeddings: torch.Tensor) -> torch.Tensor:
        """Euclidean distances ``[B, C]`` clip -> class."""
        clip, cls = self.embed(feats, class_embeddings)
        return torch.cdist(clip, cls)
