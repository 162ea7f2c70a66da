"""AVMST, "Modality-fusion spiking transformer network for audio-visual
zero-shot learning" (Li, Ma, Deng, Fan, ICME 2023) as an stftbox model: AVCA
plus two spiking (IF-neuron) rate branches that gate a second token of each
modality.

Built from the facts of the released code, github.com/liwr-hit/ICME23_AVMST
(class ``AVMST``; the repository has no licence: it was read and run for
facts, nothing is reproduced) and checked number for number against
reference outputs of running it (tests/test_models/test_peer_avmst.py,
docs/baselines.md). The head is the exact AVCA head (``AVCAHead``).
"""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from spikingjelly.activation_based import functional, neuron, surrogate
from timm.layers import Mlp
from timm.models.vision_transformer import Block

from stftbox.registry import MODELS
from ..classifiers.av_gzsl_classifier import AVGZSLClassifier
from .avca import sample_negatives
from .clipclap import _bn_mlp, clip_level

__all__ = ['SpikingRateBranch', 'AVMSTFusionBackbone', 'AVMST']


class SpikingRateBranch(nn.Module):
    """``Linear(C_in, H) -> IF -> Linear(H, C_out) -> IF`` in single-step
    mode (``layers``, indices as the peer's ``fc``). spikingjelly ``IFNode``:
    ``v += x``, no leak, spike when ``v >= 1``, hard reset to 0, Sigmoid
    surrogate (``alpha``). The membrane state lives between calls until
    :meth:`reset_state`.

    Shapes: ``x [B, C_in]`` -> spikes ``[B, C_out]`` (exact 0/1).
    """

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, surrogate_alpha: float = 4.0) -> None:
        super().__init__()

        def if_node():
            return neuron.IFNode(
                v_threshold=1.0, v_reset=0.0, detach_reset=False,
                surrogate_function=surrogate.Sigmoid(alpha=surrogate_alpha),
                step_mode='s')

        self.layers = nn.Sequential(nn.Linear(in_channels, hidden_channels),
                                    if_node(),
                                    nn.Linear(hidden_channels, out_channels),
                                    if_node())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One time step."""
        return self.layers(x)

    def reset_state(self) -> None:
        """Membrane potentials back to 0."""
        functional.reset_net(self.layers)


def _transformer(embed_dims: int, num_layers: int, num_heads: int,
                 mlp_dims: int, dropout: float) -> nn.Sequential:
    """AVCA's pre-norm transformer (timm ViT blocks, fused bias-free qkv,
    GELU MLP, no final LayerNorm)."""
    blocks = []
    for _ in range(num_layers):
        block = Block(embed_dims, num_heads, qkv_bias=False,
                      proj_drop=dropout, norm_layer=nn.LayerNorm)
        block.mlp = Mlp(embed_dims, mlp_dims, act_layer=nn.GELU,
                        drop=dropout)
        blocks.append(block)
    return nn.Sequential(*blocks)


@MODELS.register_module()
class AVMSTFusionBackbone(nn.Module):
    """The AVMST clip encoder: AVCA's encoders and transformer with a
    spike-gated pre-fusion of each modality.

    1. ``phi_a = audio_encoder(a)``, ``phi_v = video_encoder(v)``
       (``BNMLP``, width ``d`` = 300).
    2. Firing rates over ``T`` single steps: ``rate_a`` = mean of ``T``
       calls of ``audio_snn(a)``; ``rate_v`` = ``video_snn(v)`` at step 1
       and, **as released** (``video_rate_from_audio_branch=True``),
       ``audio_snn(v)`` at steps 2..T, continuing the audio branch's
       membrane state (so audio and video need equal widths);
       ``False`` uses ``video_snn`` at every step (the evident intent).
    3. Pre-fusion, with the one shared transformer ``tr``:
       ``phi_a <- tr([phi_a + p0, phi_a * softmax(rate_a) + p0])[:, 0]``,
       ``phi_v <- tr([phi_v + p1, phi_v * softmax(rate_v) + p1])[:, 1]``
       (softmax over the ``d`` features; ``p = pos_embed``, never trained).
    4. AVCA: ``x = transformer([phi_a + p0, phi_v + p1])``,
       ``audio = phi_a + x[:, 0]``, ``video = phi_v + x[:, 1]``.

    ``forward(..., reset=False)`` keeps the membrane state for the next call
    (the released training step runs the negatives on the state left by the
    positives); the default resets after the call.

    Args:
        audio_channels, video_channels (int): input widths.
        embed_dims (int): ``d`` (300 in the peer). Default 300.
        hidden_channels (int): hidden width of the encoders and of the
            spiking branches (``embeddings_hidden_size``). Default 512.
        encoder_dropout (float): dropout of encoders and transformer.
            Default 0.2.
        momentum (float): momentum of the encoders' second BatchNorm.
            Default 0.1.
        num_layers, num_heads, mlp_dims (int): transformer depth, heads,
            MLP width. Default 1, 3, 64.
        time_steps (int): ``T`` (10, hard-coded in the peer).
        video_rate_from_audio_branch (bool): see step 2. Default True.
        train_snn (bool): False (released AVMST) leaves both spiking branches
            out of training (``requires_grad=False``); True trains them
            through the surrogate. Default False.
        surrogate_alpha (float): Sigmoid surrogate slope. Default 4.

    Shapes:
        ``audio [B, D_a]`` / ``[B, T, D_a]``, ``video`` likewise -> dict
        ``embedding`` (= ``video``), ``audio``, ``video``, ``phi_a``,
        ``phi_v`` (fused) ``[B, d]``, ``phi_a_enc``, ``phi_v_enc``,
        ``rate_a``, ``rate_v`` ``[B, d]``, ``prefusion_a``, ``prefusion_v``,
        ``tokens_in``, ``tokens`` ``[B, 2, d]``.

    Raises:
        ValueError: widths that do not fit (incl. unequal widths with
            ``video_rate_from_audio_branch``).
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 300, hidden_channels: int = 512,
                 encoder_dropout: float = 0.2, momentum: float = 0.1,
                 num_layers: int = 1, num_heads: int = 3,
                 mlp_dims: int = 64, time_steps: int = 10,
                 video_rate_from_audio_branch: bool = True,
                 train_snn: bool = False,
                 surrogate_alpha: float = 4.0) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'{type(self).__name__}: embed_dims '
                             f'{embed_dims} must be divisible by num_heads '
                             f'{num_heads}')
        if video_rate_from_audio_branch and audio_channels != video_channels:
            raise ValueError(
                f'{type(self).__name__}: video_rate_from_audio_branch=True '
                '(the released AVMST) feeds video to the audio spiking '
                f'branch, so audio_channels ({audio_channels}) must equal '
                f'video_channels ({video_channels}); set it False for '
                'unequal widths')
        if time_steps < 1:
            raise ValueError(f'{type(self).__name__}: time_steps must be '
                             f'>= 1, got {time_steps}')
        self.audio_channels, self.video_channels = (audio_channels,
                                                    video_channels)
        self.time_steps = time_steps
        self.video_rate_from_audio_branch = video_rate_from_audio_branch
        self.audio_encoder = _bn_mlp(audio_channels, embed_dims,
                                     hidden_channels, encoder_dropout,
                                     momentum)
        self.video_encoder = _bn_mlp(video_channels, embed_dims,
                                     hidden_channels, encoder_dropout,
                                     momentum)
        self.transformer = _transformer(embed_dims, num_layers, num_heads,
                                        mlp_dims, encoder_dropout)
        self.audio_snn = SpikingRateBranch(audio_channels, hidden_channels,
                                           embed_dims, surrogate_alpha)
        self.video_snn = SpikingRateBranch(video_channels, hidden_channels,
                                           embed_dims, surrogate_alpha)
        self.pos_embed = nn.Parameter(torch.randn(2, embed_dims),
                                      requires_grad=False)
        for p in (*self.audio_snn.parameters(),
                  *self.video_snn.parameters()):
            p.requires_grad_(bool(train_snn))

    def reset_snn(self) -> None:
        """Reset both spiking branches."""
        self.audio_snn.reset_state()
        self.video_snn.reset_state()

    def firing_rates(self, a: torch.Tensor, v: torch.Tensor) -> tuple:
        """``(rate_a, rate_v)`` ``[B, d]`` (step 2 of the class docstring;
        the state carries on from earlier calls until :meth:`reset_snn`)."""
        rate_a = sum(self.audio_snn(a) for _ in range(self.time_steps))
        rest = (self.audio_snn if self.video_rate_from_audio_branch else
                self.video_snn)
        rate_v = self.video_snn(v)
        for _ in range(self.time_steps - 1):
            rate_v = rate_v + rest(v)
        return rate_a / self.time_steps, rate_v / self.time_steps

    def _check(self, audio: torch.Tensor, video: torch.Tensor) -> None:
        if audio.shape[-1] != self.audio_channels or \
                video.shape[-1] != self.video_channels:
            raise ValueError(
                f'{type(self).__name__}: expected audio [..., '
                f'{self.audio_channels}] and video [..., '
                f'{self.video_channels}], got {tuple(audio.shape)} and '
                f'{tuple(video.shape)}')

    def spiking_fusion(self, a: torch.Tensor, v: torch.Tensor) -> dict:
        """Steps 1-3 of the class docstring on clip-level ``a``, ``v``."""
        pos = self.pos_embed
        phi_a_enc, phi_v_enc = self.audio_encoder(a), self.video_encoder(v)
        rate_a, rate_v = self.firing_rates(a, v)
        pre_a = torch.stack((phi_a_enc + pos[0], phi_a_enc * torch.softmax(
            rate_a, dim=1) + pos[0]), dim=1)
        phi_a = self.transformer(pre_a)[:, 0]
        pre_v = torch.stack((phi_v_enc + pos[1], phi_v_enc * torch.softmax(
            rate_v, dim=1) + pos[1]), dim=1)
        phi_v = self.transformer(pre_v)[:, 1]
        return dict(phi_a_enc=phi_a_enc, phi_v_enc=phi_v_enc, rate_a=rate_a,
                    rate_v=rate_v, prefusion_a=pre_a, prefusion_v=pre_v,
                    phi_a=phi_a, phi_v=phi_v)

    def cross_modal(self, out: dict) -> dict:
        """Step 4 (AVCA's attention with residual) on ``out['phi_*']``."""
        pos = self.pos_embed
        x = torch.stack((out['phi_a'] + pos[0], out['phi_v'] + pos[1]),
                        dim=1)
        tokens = self.transformer(x)
        out.update(tokens_in=x, tokens=tokens,
                   audio=out['phi_a'] + tokens[:, 0],
                   video=out['phi_v'] + tokens[:, 1])
        out['embedding'] = out['video']
        return out

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None,
                reset: bool = True) -> Dict[str, torch.Tensor]:
        """Embed a batch of clips; see the class docstring."""
        self._check(audio, video)
        a = clip_level(audio, audio_padding_mask)
        v = clip_level(video, video_padding_mask)
        try:
            out = self.spiking_fusion(a, v)
        finally:
            if reset:
                self.reset_snn()
        return self.cross_modal(out)


_POS_KEYS = ('audio', 'video', 'audio_padding_mask', 'video_padding_mask')


@MODELS.register_module()
class AVMST(AVGZSLClassifier):
    """AVMST with ``AVMSTFusionBackbone`` and ``AVCAHead``
    (docs/baselines.md). Same interface as :class:`AVGZSLClassifier`;
    training needs a negative for every clip, as AVCA: explicit
    ``inputs['audio_neg']``, ``inputs['video_neg']`` and
    ``data_samples['neg_labels']``, or by default a random clip of another
    class of the batch.

    Args:
        carry_snn_state (bool): True (released behaviour) runs the
            negatives' spiking branches on the membrane state left by the
            positives and resets only after both; False resets in between.
            Default True.
        backbone, head, **kwargs: see :class:`AVGZSLClassifier`.
    """

    def __init__(self, backbone: dict, head: dict,
                 carry_snn_state: bool = True, **kwargs) -> None:
        super().__init__(backbone=backbone, head=head, **kwargs)
        self.carry_snn_state = carry_snn_state

    #: extra backbone arguments of the training forward
    train_forward_kwargs: dict = {}

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[dict, List[dict]]:
        pos_inputs = {k: v for k, v in inputs.items() if k in _POS_KEYS}
        if mode != 'loss':
            return super().forward(pos_inputs, data_samples, mode)
        return self.loss_with_negatives(inputs, data_samples)

    def pair_features(self, inputs: Dict[str, torch.Tensor],
                      data_samples: dict) -> tuple:
        """Backbone outputs of the clips and of their negatives, and the
        class texts of both: ``(pos, neg, w, w_neg)``."""
        if self.class_embeddings.numel() == 0:
            raise RuntimeError(
                f'{type(self).__name__}: class embeddings are not set; add '
                "dict(type='ClassEmbeddingHook') to custom_hooks or call "
                'model.set_class_embeddings()')
        labels = data_samples['labels']
        ids = self.train_class_ids
        if ids.numel() and not torch.isin(labels, ids).all():
            bad = labels[~torch.isin(labels, ids)].unique().tolist()
            raise RuntimeError(f'{type(self).__name__}: labels {bad} are not '
                               'among the training classes')
        pos_inputs = {k: v for k, v in inputs.items() if k in _POS_KEYS}
        if 'audio_neg' in inputs:
            neg_inputs = dict(
                audio=inputs['audio_neg'], video=inputs['video_neg'],
                audio_padding_mask=inputs.get('audio_neg_padding_mask'),
                video_padding_mask=inputs.get('video_neg_padding_mask'))
            neg_labels = data_samples['neg_labels']
        else:
            idx = sample_negatives(labels)
            neg_inputs = {k: (v[idx] if v is not None else None)
                          for k, v in pos_inputs.items()}
            neg_labels = labels[idx]
        pos = self.backbone(**pos_inputs, reset=not self.carry_snn_state,
                            **self.train_forward_kwargs)
        neg = self.backbone(**neg_inputs, reset=True,
                            **self.train_forward_kwargs)
        return (pos, neg, self.class_embeddings[labels],
                self.class_embeddings[neg_labels])

    def loss_with_negatives(self, inputs: Dict[str, torch.Tensor],
                            data_samples: dict) -> Dict[str, torch.Tensor]:
        """AVCA's losses (``AVCAHead``) on a batch and its negatives."""
        losses = self.head.loss(*self.pair_features(inputs, data_samples))
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                raise RuntimeError(
                    f'{type(self).__name__}: {name} is {value.item()} '
                    '(NaN/Inf); lower the learning rate or check the inputs')
        return losses

    def train_mode_embedding_pass(self, inputs: Dict[str, torch.Tensor],
                                  data_samples: dict) -> None:
        """The train loop's train-mode ``get_embeddings`` after each step
        (no gradient; BatchNorm updates only). Used by
        ``TrainModeEmbeddingHook``."""
        labels = data_samples['labels']
        pos_inputs = {k: v for k, v in inputs.items() if k in _POS_KEYS}
        with torch.no_grad():
            feats = self.backbone(**pos_inputs)
            self.head.embed(feats, self.class_embeddings[labels])
