"""AVCA head: per-modality projections into the joint space, decoders, the
AVCA triplet / regression / reconstruction losses and video-only
evaluation."""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.registry import MODELS
from ..bn_mlp import BNMLP

__all__ = ['AVCAHead']

_EVAL_MODES = ('video', 'audio', 'both')


@MODELS.register_module()
class AVCAHead(nn.Module):
    """Joint space, losses and distances of AVCA (Mercea et al., CVPR 2022;
    docs/baselines.md).

    Modules (peer names in brackets): ``audio_proj`` / ``video_proj``
    (``A_proj`` / ``V_proj``, ``BNMLP(d, E, hidden, momentum)``) give
    ``theta_a`` / ``theta_v``; ``audio_decoder`` / ``video_decoder``
    (``A_rec`` / ``V_rec``, ``BNMLP(E, d)``) give ``phi_a_rec`` /
    ``phi_v_rec``; ``text_proj`` (``W_proj``, ``BNMLP(D_t, E)``) gives
    ``theta_w``; ``text_decoder`` (``D``, ``BNMLP(E, D_t)``) is applied to
    every ``theta``: ``rho_*``.

    Loss of a batch with negatives (a clip of another class, and the text of
    that class), ``T(a, p, n)`` = ``torch.nn.TripletMarginLoss(margin)``
    (``d(x, y) = ||x - y + 1e-6||``):

    * ``loss_reconstruction``: ``MSE(w, rho_v) + MSE(w, rho_a) + MSE(w,
      rho_w)``;
    * ``loss_triplet_rho``: ``T(rho_w, rho_a, rho_a-) + T(rho_w, rho_v,
      rho_v-)``;
    * ``loss_triplet_theta``: ``T(th_w, th_a, th_a-) + T(th_a, th_w, th_w-)
      + T(th_w, th_v, th_v-) + T(th_v, th_w, th_w-)``;
    * ``loss_triplet_additional`` (``first`` / ``second`` weights):
      ``first * (T(th_a, th_w, th_a-) + T(th_v, th_w, th_v-)) + second *
      (T(th_w, th_a, th_w-) + T(th_w, th_v, th_w-))``;
    * ``loss_regression``: ``MSE(phi_v_rec, phi_v) + MSE(phi_a_rec, phi_a)``
      ``+ MSE(th_v, th_w) + MSE(th_a, th_w)`` (the last two with the
      registered ``ProjectionLoss``).

    The modules are called in the peer's order, including the projections
    of the reconstructions (``se_em_hat``), which no loss uses but which
    update BatchNorm running statistics: ``text_decoder`` runs six times a
    step, ``audio_proj`` / ``video_proj`` three times, ``text_proj`` twice.

    Prediction uses the video branch only (``eval_mode='video'``, the
    peer's evaluation): ``cdist(theta_v, text_proj(t))``, plain Euclidean;
    ``'audio'`` uses ``theta_a``, ``'both'`` the sum of the two distances.

    Args:
        in_channels (int): width ``d`` of the attended features (300).
        text_channels (int): class-text width ``D_t`` (300).
        embed_dims (int): joint width ``E`` (``dim_out``). Default 64.
        hidden_channels (int): hidden width of the projections
            (``decoder_hidden_size``). Default 512.
        dropout (float): dropout of the projections (``decoder_dropout``).
            Default 0.3.
        text_dropout (float): dropout of the decoders and of ``text_proj``
            (``additional_dropout``). Default 0.5.
        momentum (float): momentum of the projections' second BatchNorm.
            Default 0.99.
        margin (float): triplet margin. Default 1.0.
        first_additional_triplet, second_additional_triplet (float):
            weights of the additional triplets; both 0 disables them.
            Default 1.
        regression (bool): use the regression loss. Default True.
        eval_mode (str): ``'video'`` (default), ``'audio'`` or ``'both'``.

    Raises:
        ValueError: unknown ``eval_mode``.
    """

    def __init__(self, in_channels: int = 300, text_channels: int = 300,
                 embed_dims: int = 64, hidden_channels: int = 512,
                 dropout: float = 0.3, text_dropout: float = 0.5,
                 momentum: float = 0.99, margin: float = 1.0,
                 first_additional_triplet: float = 1.0,
                 second_additional_triplet: float = 1.0,
                 regression: bool = True,
                 eval_mode: str = 'video') -> None:
        super().__init__()
        if eval_mode not in _EVAL_MODES:
            raise ValueError(f'AVCAHead: eval_mode must be one of '
                             f'{_EVAL_MODES}, got {eval_mode!r}')
        self.eval_mode = eval_mode
        self.audio_proj = BNMLP(in_channels, embed_dims, hidden_channels,
                                dropout, momentum)
        self.video_proj = BNMLP(in_channels, embed_dims, hidden_channels,
                                dropout, momentum)
        self.audio_decoder = BNMLP(embed_dims, in_channels, None,
                                   text_dropout)
        self.video_decoder = BNMLP(embed_dims, in_channels, None,
                                   text_dropout)
        self.text_proj = BNMLP(text_channels, embed_dims, None, text_dropout)
        self.text_decoder = BNMLP(embed_dims, text_channels, None,
                                  text_dropout)
        self.triplet = nn.TripletMarginLoss(margin=margin)
        self.regression = MODELS.build(dict(type='ProjectionLoss')) \
            if regression else None
        self.additional = (float(first_additional_triplet),
                           float(second_additional_triplet))

    def forward_train(self, pos: Dict[str, torch.Tensor],
                      neg: Dict[str, torch.Tensor], w: torch.Tensor,
                      w_neg: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Every tensor of the peer's training forward.

        Args:
            pos, neg (dict): backbone outputs (``audio``, ``video``,
                ``phi_a``, ``phi_v``) of the clips and of their negatives.
            w, w_neg (Tensor): ``[B, D_t]`` texts of the clips' classes and
                of the negatives' classes.

        Returns:
            dict: ``theta_w``, ``theta_w_neg``, ``rho_w``, ``rho_w_neg``,
            ``theta_v``, ``theta_v_neg``, ``theta_a``, ``theta_a_neg``,
            ``phi_v_rec``, ``phi_a_rec``, ``se_em_hat1``, ``se_em_hat2``,
            ``rho_a``, ``rho_a_neg``, ``rho_v``, ``rho_v_neg`` and the inputs
            ``w``, ``w_neg``, ``phi_a``, ``phi_v``.
        """
        o = dict(w=w, w_neg=w_neg, phi_a=pos['phi_a'], phi_v=pos['phi_v'])
        o['theta_w'] = self.text_proj(w)
        o['theta_w_neg'] = self.text_proj(w_neg)
        o['rho_w'] = self.text_decoder(o['theta_w'])
        o['rho_w_neg'] = self.text_decoder(o['theta_w_neg'])
        o['theta_v'] = self.video_proj(pos['video'])
        o['theta_v_neg'] = self.video_proj(neg['video'])
        o['theta_a'] = self.audio_proj(pos['audio'])
        o['theta_a_neg'] = self.audio_proj(neg['audio'])
        o['phi_v_rec'] = self.video_decoder(o['theta_v'])
        o['phi_a_rec'] = self.audio_decoder(o['theta_a'])
        o['se_em_hat1'] = self.audio_proj(o['phi_a_rec'])
        o['se_em_hat2'] = self.video_proj(o['phi_v_rec'])
        for key in ('theta_a', 'theta_a_neg', 'theta_v', 'theta_v_neg'):
            o['rho' + key[5:]] = self.text_decoder(o[key])
        return o

    def loss_from_outputs(self, o: Dict[str, torch.Tensor]
                          ) -> Dict[str, torch.Tensor]:
        """The loss components of :meth:`forward_train`'s outputs."""
        t = self.triplet
        losses = dict(
            loss_reconstruction=(F.mse_loss(o['w'], o['rho_v']) +
                                 F.mse_loss(o['w'], o['rho_a']) +
                                 F.mse_loss(o['w'], o['rho_w'])),
            loss_triplet_rho=(t(o['rho_w'], o['rho_a'], o['rho_a_neg']) +
                              t(o['rho_w'], o['rho_v'], o['rho_v_neg'])),
            loss_triplet_theta=(
                t(o['theta_w'], o['theta_a'], o['theta_a_neg']) +
                t(o['theta_a'], o['theta_w'], o['theta_w_neg']) +
                t(o['theta_w'], o['theta_v'], o['theta_v_neg']) +
                t(o['theta_v'], o['theta_w'], o['theta_w_neg'])))
        first, second = self.additional
        if first or second:
            losses['loss_triplet_additional'] = (
                first * (t(o['theta_a'], o['theta_w'], o['theta_a_neg']) +
                         t(o['theta_v'], o['theta_w'], o['theta_v_neg'])) +
                second * (t(o['theta_w'], o['theta_a'], o['theta_w_neg']) +
                          t(o['theta_w'], o['theta_v'], o['theta_w_neg'])))
        if self.regression is not None:
            rows = torch.arange(len(o['w']), device=o['w'].device)
            losses['loss_regression'] = (
                F.mse_loss(o['phi_v_rec'], o['phi_v']) +
                F.mse_loss(o['phi_a_rec'], o['phi_a']) +
                self.regression(o['theta_v'], o['theta_w'], rows) +
                self.regression(o['theta_a'], o['theta_w'], rows))
        return losses

    def loss(self, pos: Dict[str, torch.Tensor], neg: Dict[str, torch.Tensor],
             w: torch.Tensor, w_neg: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss components of one batch (see the class docstring)."""
        return self.loss_from_outputs(self.forward_train(pos, neg, w, w_neg))

    def embed(self, feats: Dict[str, torch.Tensor],
              class_embeddings: torch.Tensor) -> tuple:
        """The peer's evaluation embeddings ``(theta_a [B, E], theta_v [B,
        E], theta_w [C, E])``."""
        theta_w = self.text_proj(class_embeddings)
        return (self.audio_proj(feats['audio']),
                self.video_proj(feats['video']), theta_w)

    def predict(self, feats: Dict[str, torch.Tensor],
                class_embeddings: torch.Tensor) -> torch.Tensor:
        """Euclidean distances ``[B, C]`` by ``eval_mode``."""
        theta_w = self.text_proj(class_embeddings)
        if self.eval_mode == 'video':
            return torch.cdist(self.video_proj(feats['video']), theta_w)
        if self.eval_mode == 'audio':
            return torch.cdist(self.audio_proj(feats['audio']), theta_w)
        return (torch.cdist(self.audio_proj(feats['audio']), theta_w) +
                torch.cdist(self.video_proj(feats['video']), theta_w))
