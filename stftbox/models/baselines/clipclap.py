"""ClipClap-GZSL (Kurzendoerfer, Mercea, Koepke, Akata, CVPRW 2024,
arXiv 2404.06309) as an stftbox model.

Released as github.com/dkurzend/ClipClap-GZSL (MIT, Copyright (c) 2024
dkurzend), class ``ClipClap_model``. This is our implementation of that
model; it equals the released model number for number on the reference
fixture (tests/test_models/test_peer_clipclap.py, docs/baselines.md).
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.registry import MODELS
from ..classifiers.av_gzsl_classifier import AVGZSLClassifier

__all__ = ['ClipClapBackbone', 'ClipClapHead', 'ClipClap']

_WORD_EMBEDDINGS = ('both', 'clip', 'clap')


def _bn_mlp(*args, **kwargs) -> nn.Module:
    return MODELS.build(dict(type='BNMLP', **dict(
        zip(('in_channels', 'out_channels', 'hidden_channels', 'dropout',
             'momentum'), args)), **kwargs))


def clip_level(x: torch.Tensor,
               padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``[B, D]`` as is; ``[B, T, D]`` averaged over the valid steps (mask
    ``[B, T]``, True = padded). The peers' features are one vector a clip
    (``T = 1``), which passes through unchanged."""
    if x.dim() == 2:
        return x
    if x.shape[1] == 1:
        return x[:, 0]
    if padding_mask is None:
        return x.mean(dim=1)
    valid = (~padding_mask.bool()).unsqueeze(-1).to(x.dtype)
    return (x * valid).sum(1) / valid.sum(1).clamp(min=1)


@MODELS.register_module()
class ClipClapBackbone(nn.Module):
    """ClipClap's clip encoder ``O_enc``: ``BNMLP(D_v + D_a, d)`` (Linear ->
    BatchNorm -> ReLU -> Dropout) on ``cat(video, audio)``, **video first**
    (as released, although every signature takes audio first).

    Args:
        audio_channels (int): CLAP audio width ``D_a`` (1024).
        video_channels (int): CLIP image width ``D_v`` (512).
        embed_dims (int): output width ``d`` (512, hard-coded in the peer).
        dropout (float): dropout of the encoder (0.1, hard-coded in the
            peer; the config's ``embedding_dropout`` is not used).

    Shapes:
        ``audio [B, D_a]`` or ``[B, T, D_a]``, ``video [B, D_v]`` or
        ``[B, T, D_v]`` (temporal inputs are averaged over valid steps) ->
        dict ``embedding [B, d]`` and ``encoder_in [B, D_v + D_a]``.

    Raises:
        ValueError: wrong input widths.
    """

    def __init__(self, audio_channels: int = 1024, video_channels: int = 512,
                 embed_dims: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.audio_channels, self.video_channels = (audio_channels,
                                                    video_channels)
        self.encoder = _bn_mlp(video_channels + audio_channels, embed_dims,
                               None, dropout)

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        """Embed a batch of clips; see the class docstring."""
        if audio.shape[-1] != self.audio_channels or \
                video.shape[-1] != self.video_channels:
            raise ValueError(
                f'ClipClapBackbone: expected audio [..., '
                f'{self.audio_channels}] and video [..., '
                f'{self.video_channels}], got {tuple(audio.shape)} and '
                f'{tuple(video.shape)}')
        a = clip_level(audio, audio_padding_mask)
        # the peer casts video to float32 (its features may be float64);
        # here to the audio's dtype, which is float32 in float32 runs
        v = clip_level(video, video_padding_mask).to(a.dtype)
        x = torch.cat((v, a), dim=1)
        return dict(embedding=self.encoder(x), encoder_in=x)


@MODELS.register_module()
class ClipClapHead(nn.Module):
    """ClipClap's joint space, losses and distances.

    Modules (peer names in brackets): ``clip_proj`` (``O_proj``,
    ``BNMLP(d, E, hidden, dropout)``) gives ``theta_o``; ``clip_decoder``
    (``D_o``, ``BNMLP(E, d, hidden, dropout)``) gives ``rho_o``;
    ``text_encoder`` (``W_enc``, ``BNMLP(D_t, d)`` with dropout 0.1) gives
    ``w``; ``text_proj`` (``W_proj``, ``BNMLP(d, E)``) gives ``theta_w``;
    ``text_decoder`` (``D_w``, ``BNMLP(E, d)``) gives ``rho_w``.

    Loss of a batch (``w`` the encoded text of each clip's class, ``c`` the
    encoded texts of the training classes):

    * ``loss_reconstruction``: ``MSE(w, rho_o) + MSE(w, rho_w)``; the target
      ``w`` is **not detached** in the released code (``detach_target=False``,
      default), so the loss also trains ``text_encoder`` through it;
      ``detach_target=True`` makes it a fixed target;
    * ``loss_regression``: ``MSE(theta_o, theta_w)``;
    * ``loss_cross_entropy``: cross-entropy of the raw dot products
      ``theta_o @ text_proj(c)^T`` (no normalisation, no temperature). The
      class rows are a separate BatchNorm batch of ``text_encoder`` and
      ``text_proj``, as released.

    Prediction: ``cdist(theta_o, text_proj(text_encoder(t)))``, plain
    Euclidean.

    Args:
        in_channels (int): width ``d`` of the clip embedding (512).
        text_channels (int): class-text width ``D_t`` before slicing (1536 =
            CLIP text 512 + CLAP text 1024).
        word_embeddings (str): ``'both'`` (all ``D_t``), ``'clip'`` (the
            first ``clip_text_channels``) or ``'clap'`` (the rest), as the
            peer's word_embeddings option. Default ``'both'``.
        clip_text_channels (int): width of the CLIP part. Default 512.
        embed_dims (int): joint width ``E`` (``dim_out``). Default 64.
        hidden_channels (int): hidden width of ``clip_proj`` / ``clip_decoder``
            (``decoder_hidden_size``). Default 512.
        dropout (float): their dropout (``decoder_dropout``). Default 0.1.
        text_dropout (float): dropout of ``text_proj`` / ``text_decoder``
            (``additional_dropout``). Default 0.1.
        text_encoder_dropout (float): dropout of ``text_encoder`` (0.1,
            hard-coded in the peer).
        detach_target (bool): detach the reconstruction target. Default
            False (released behaviour).
        reconstruction, regression, cross_entropy (bool): the peer's
            ``rec_loss``, ``reg_loss``, ``cross_entropy_loss``. Default True.

    Raises:
        ValueError: unknown ``word_embeddings``.
    """

    def __init__(self, in_channels: int = 512, text_channels: int = 1536,
                 word_embeddings: str = 'both',
                 clip_text_channels: int = 512, embed_dims: int = 64,
                 hidden_channels: int = 512, dropout: float = 0.1,
                 text_dropout: float = 0.1,
                 text_encoder_dropout: float = 0.1,
                 detach_target: bool = False, reconstruction: bool = True,
                 regression: bool = True,
                 cross_entropy: bool = True) -> None:
        super().__init__()
        if word_embeddings not in _WORD_EMBEDDINGS:
            raise ValueError(f'ClipClapHead: word_embeddings must be one of '
                             f'{_WORD_EMBEDDINGS}, got {word_embeddings!r}')
        self.word_embeddings = word_embeddings
        self.clip_text_channels = clip_text_channels
        used = dict(both=text_channels, clip=clip_text_channels,
                    clap=text_channels - clip_text_channels)[word_embeddings]
        self.clip_proj = _bn_mlp(in_channels, embed_dims, hidden_channels,
                                 dropout)
        self.clip_decoder = _bn_mlp(embed_dims, in_channels, hidden_channels,
                                    dropout)
        self.text_encoder = _bn_mlp(used, in_channels, None,
                                    text_encoder_dropout)
        self.text_proj = _bn_mlp(in_channels, embed_dims, None, text_dropout)
        self.text_decoder = _bn_mlp(embed_dims, in_channels, None,
                                    text_dropout)
        self.detach_target = detach_target
        self.switches = (reconstruction, regression, cross_entropy)

    def select_text(self, text: torch.Tensor) -> torch.Tensor:
        """The part of ``[N, D_t]`` text that ``word_embeddings`` uses."""
        if self.word_embeddings == 'clip':
            return text[:, :self.clip_text_channels]
        if self.word_embeddings == 'clap':
            return text[:, self.clip_text_channels:]
        return text

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        """``text_encoder`` output ``w [N, d]``."""
        return self.text_encoder(self.select_text(text))

    def forward_train(self, feats: Dict[str, torch.Tensor],
                      text: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The peer's ``forward``: ``theta_o``, ``rho_o``, ``w``,
        ``theta_w``, ``rho_w`` for clip features and per-clip texts."""
        o = dict(theta_o=self.clip_proj(feats['embedding']))
        o['rho_o'] = self.clip_decoder(o['theta_o'])
        o['w'] = self.encode_text(text)
        o['theta_w'] = self.text_proj(o['w'])
        o['rho_w'] = self.text_decoder(o['theta_w'])
        return o

    def loss(self, feats: Dict[str, torch.Tensor],
             class_embeddings: torch.Tensor,
             targets: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss components (see the class docstring).

        Args:
            feats (dict): backbone output (``embedding [B, d]``).
            class_embeddings (Tensor): ``[C_train, D_t]`` training classes.
            targets (Tensor): ``[B]`` indices into ``class_embeddings``.
        """
        o = self.forward_train(feats, class_embeddings[targets])
        rec, reg, ce = self.switches
        losses = {}
        if rec:
            w = o['w'].detach() if self.detach_target else o['w']
            losses['loss_reconstruction'] = (F.mse_loss(w, o['rho_o']) +
                                             F.mse_loss(w, o['rho_w']))
        if reg:
            losses['loss_regression'] = F.mse_loss(o['theta_o'],
                                                   o['theta_w'])
        if ce:
            classes = self.text_proj(self.encode_text(class_embeddings))
            losses['loss_cross_entropy'] = F.cross_entropy(
                o['theta_o'] @ classes.t(), targets)
        return losses

    def embed(self, feats: Dict[str, torch.Tensor],
              class_embeddings: torch.Tensor) -> tuple:
        """The peer's ``get_embeddings``: ``(theta_o [B, E], theta_o,
        theta_w [C, E])`` (audio and video embedding are one tensor)."""
        theta_o = self.clip_proj(feats['embedding'])
        return theta_o, theta_o, self.text_proj(
            self.encode_text(class_embeddings))

    def predict(self, feats: Dict[str, torch.Tensor],
                class_embeddings: torch.Tensor) -> torch.Tensor:
        """Euclidean distances ``[B, C]``."""
        theta_o, _, theta_w = self.embed(feats, class_embeddings)
        return torch.cdist(theta_o, theta_w)


@MODELS.register_module()
class ClipClap(AVGZSLClassifier):
    """ClipClap-GZSL with ``ClipClapBackbone`` and ``ClipClapHead``
    (docs/baselines.md). Same interface as :class:`AVGZSLClassifier`: the
    class texts (CLIP + CLAP, 1536-d) come from ``ClassEmbeddingHook``."""

    def train_mode_embedding_pass(self, inputs: Dict[str, torch.Tensor],
                                  data_samples: dict) -> None:
        """Repeats the peer's train-mode ``get_embeddings`` call after each
        optimiser step (no gradient; as released it gets the clips' class
        texts, not all class texts): one more BatchNorm update of
        ``O_enc``, ``O_proj``, ``W_enc`` and ``W_proj``. Used by
        ``TrainModeEmbeddingHook``."""
        labels = data_samples['labels']
        with torch.no_grad():
            feats = self.backbone(**inputs)
            self.head.embed(feats, self.class_embeddings[labels])
