"""MSTR, "Multi-modal spiking tensor regression network for audio-visual
zero-shot learning" (Yang, Li, Hou, Cheng, Neurocomputing 2025) as an
stftbox model: AVMST plus two Tucker tensor-regression layers on the raw
features and a cross-modal final fusion.

Built from the facts of the released code, github.com/xia-zhe/MSTR (class
``MSTR``; the repository has no licence: it was read and run for facts,
nothing is reproduced), checked number for number against reference outputs
of running it (tests/test_models/test_peer_mstr.py, docs/baselines.md).
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from stftbox.registry import MODELS
from .avmst import AVMST, AVMSTFusionBackbone
from .clipclap import clip_level

__all__ = ['TuckerRegression', 'MSTRBackbone', 'MSTR']


class TuckerRegression(nn.Module):
    """Tucker tensor-regression layer: a linear map whose weight tensor
    ``W [d_0, d_1, d_2, C_out]`` is the Tucker product ``core x_0 factor_0
    x_1 factor_1 x_2 factor_2 x_3 factor_3``, plus one scalar ``bias`` shared
    by every output.

    ``y = <x, W>`` over the input modes ``(d_0, d_1, d_2)`` (in MSTR
    ``(512, 1, 1)``, ranks ``(400, 1, 1, 300)``: a 512 -> 300 map whose
    weight is ``factor_0 . core . factor_3^T`` scaled by ``factor_1 *
    factor_2``). The modes are multiplied in tensorly's order (mode 0 to 3,
    each as ``factor @ unfold(W, mode)``), the order of the released layer.
    Core and factors are drawn U(-0.1, 0.1), the bias is 0.

    Args:
        in_shape (sequence of int): input modes ``(d_0, d_1, d_2)``; the
            input ``[B, d_0 * d_1 * d_2]`` is read as ``[B, d_0, d_1, d_2]``.
        out_channels (int): ``C_out``.
        ranks (sequence of int): Tucker ranks ``(r_0, r_1, r_2, r_3)``.

    Shapes:
        ``x [B, prod(in_shape)]`` -> ``[B, C_out]``.

    Raises:
        ValueError: ``len(ranks) != len(in_shape) + 1`` or a wrong input
            width.
    """

    def __init__(self, in_shape: Sequence[int] = (512, 1, 1),
                 out_channels: int = 300,
                 ranks: Sequence[int] = (400, 1, 1, 300)) -> None:
        super().__init__()
        self.in_shape = tuple(int(d) for d in in_shape)
        ranks = tuple(int(r) for r in ranks)
        if len(ranks) != len(self.in_shape) + 1:
            raise ValueError(f'TuckerRegression: {len(self.in_shape)} input '
                             f'modes need {len(self.in_shape) + 1} ranks, '
                             f'got {ranks}')
        self.out_channels = out_channels
        self.core = nn.Parameter(torch.empty(ranks).uniform_(-0.1, 0.1))
        dims = self.in_shape + (out_channels,)
        self.factors = nn.ParameterList(
            nn.Parameter(torch.empty(d, r).uniform_(-0.1, 0.1))
            for d, r in zip(dims, ranks))
        self.bias = nn.Parameter(torch.zeros(1))

    def weight(self) -> torch.Tensor:
        """The full weight tensor ``[d_0, d_1, d_2, C_out]``."""
        w = self.core
        for mode, f in enumerate(self.factors):
            moved = w.movedim(mode, 0)
            shape = moved.shape
            w = (f @ moved.reshape(shape[0], -1)).reshape(
                (f.shape[0],) + shape[1:]).movedim(0, mode)
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, prod(in_shape)] -> [B, C_out]``."""
        n = 1
        for d in self.in_shape:
            n *= d
        if x.shape[-1] != n:
            raise ValueError(f'TuckerRegression: expected inputs [B, {n}] '
                             f'(modes {self.in_shape}), got '
                             f'{tuple(x.shape)}')
        w = self.weight().reshape(n, self.out_channels)
        return x @ w + self.bias


@MODELS.register_module()
class MSTRBackbone(AVMSTFusionBackbone):
    """The MSTR clip encoder: :class:`AVMSTFusionBackbone` (spike-gated
    pre-fusion and AVCA attention, all with one shared ``transformer``) plus
    a tensor-regression branch and a cross-modal final fusion.

    With ``q = pos_embed_t`` (never trained) and ``p = pos_embed``:

    1. Regression branch on the raw clip features: ``r_a = trl_audio(a)``,
       ``r_v = trl_video(v)``; ``y = transformer([r_a + q0, r_v + q1])``,
       ``reg_a = r_a + y[:, 0]``, ``reg_v = r_v + y[:, 1]``.
    2. ``audio1``, ``video1`` = the AVMST outputs (``audio``, ``video``).
    3. Final fusion, each modality with the **other** modality's regression
       output, both keeping token 0:
       ``audio = transformer([audio1 + p0, reg_v + q0])[:, 0]``,
       ``video = transformer([video1 + p1, reg_a + q1])[:, 0]``.

    The released ``forward`` reshapes the features to ``(256, 512, 1, 1)``
    and so trains only with batches of exactly 256 clips (its
    ``get_embeddings`` takes any batch). ``train_batch_size=256`` reproduces
    that check in training (``forward(..., training_batch=True)``);
    ``None`` (the evident intent) accepts any batch. The regression is
    row-wise, so on a batch of 256 both give the same values.

    Args:
        tensor_ranks (sequence of int): Tucker ranks. Default
            ``(400, 1, 1, 300)``.
        train_batch_size (int, optional): the fixed training batch, or None.
            Default None.
        train_snn (bool): MSTR trains its spiking branches. Default True.
        **kwargs: see :class:`AVMSTFusionBackbone`.

    Shapes:
        as :class:`AVMSTFusionBackbone`, plus ``reg_a``, ``reg_v``,
        ``r_a``, ``r_v`` ``[B, d]``, ``reg_tokens_in``, ``reg_tokens``
        ``[B, 2, d]``, ``audio1``, ``video1`` ``[B, d]``.

    Raises:
        ValueError: see :class:`AVMSTFusionBackbone`; a training batch other
            than ``train_batch_size``.
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 300,
                 tensor_ranks: Sequence[int] = (400, 1, 1, 300),
                 train_batch_size: Optional[int] = None,
                 train_snn: bool = True, **kwargs) -> None:
        super().__init__(audio_channels, video_channels,
                         embed_dims=embed_dims, train_snn=train_snn,
                         **kwargs)
        self.train_batch_size = train_batch_size
        self.trl_video = TuckerRegression((video_channels, 1, 1),
                                          embed_dims, tensor_ranks)
        self.trl_audio = TuckerRegression((audio_channels, 1, 1),
                                          embed_dims, tensor_ranks)
        self.pos_embed_t = nn.Parameter(torch.randn(2, embed_dims),
                                        requires_grad=False)

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None,
                reset: bool = True,
                training_batch: bool = False) -> Dict[str, torch.Tensor]:
        """Embed a batch of clips; see the class docstring.
        ``training_batch=True`` (the training forward) applies the
        ``train_batch_size`` check."""
        if training_batch and self.train_batch_size is not None and \
                audio.shape[0] != self.train_batch_size:
            raise ValueError(
                f'MSTRBackbone: train_batch_size={self.train_batch_size} '
                '(the released MSTR reshapes every training batch to that '
                f'size) but got a batch of {audio.shape[0]}; set '
                'model.backbone.train_batch_size=None for any batch size')
        out = super().forward(audio, video, audio_padding_mask,
                              video_padding_mask, reset)
        a = clip_level(audio, audio_padding_mask)
        v = clip_level(video, video_padding_mask)
        p, q = self.pos_embed, self.pos_embed_t
        r_a, r_v = self.trl_audio(a), self.trl_video(v)
        x = torch.stack((r_a + q[0], r_v + q[1]), dim=1)
        y = self.transformer(x)
        reg_a, reg_v = r_a + y[:, 0], r_v + y[:, 1]
        audio1, video1 = out['audio'], out['video']
        fa = torch.stack((audio1 + p[0], reg_v + q[0]), dim=1)
        fv = torch.stack((video1 + p[1], reg_a + q[1]), dim=1)
        out.update(r_a=r_a, r_v=r_v, reg_tokens_in=x, reg_tokens=y,
                   reg_a=reg_a, reg_v=reg_v, audio1=audio1, video1=video1,
                   audio=self.transformer(fa)[:, 0],
                   video=self.transformer(fv)[:, 0])
        out['embedding'] = out['video']
        return out


@MODELS.register_module()
class MSTR(AVMST):
    """MSTR with ``MSTRBackbone`` and ``AVCAHead`` (docs/baselines.md);
    the training interface of :class:`AVMST`; its training forward applies
    ``MSTRBackbone(train_batch_size=...)``."""

    train_forward_kwargs = dict(training_batch=True)
