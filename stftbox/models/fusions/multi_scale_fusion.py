"""Multi-scale fusion of SNN and transformer outputs.

The STFT abstract [A] says the temporal-semantic Tucker fusion "achieves
multi-scale fusion of SNN and Transformer outputs while maintaining full
second-order interactions". The exact form is not public; this module is our
reading [I]: fuse the transformer embedding ``r`` with the SNN output at
several temporal scales and combine the results.

Scales:
    ``'pooled'``: ``F_p(r, s)`` with the SNN embedding ``s`` (its steps pooled
    by the SNN's time-step factor).
    ``'steps'``: ``sum_t w_t F_t(r, s_t)`` over the SNN step outputs ``s_t``,
    weighted by the step weights ``w_t`` (e.g. the TSF softmax) or their
    mean.

Note: if ``F`` is purely bilinear and the same weights pool ``s``, then
``sum_t w_t F(r, s_t) = F(r, sum_t w_t s_t)`` and the two scales collapse
into one bilinear map. ``scale_norm=True`` (default) applies a LayerNorm to
each fused output (every step for ``'steps'``) before pooling and combining,
which keeps the scales distinct and their magnitudes comparable [I].
"""
import copy
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import FUSIONS

_SCALES = ('pooled', 'steps')
_COMBINES = ('sum', 'mean', 'concat')


@FUSIONS.register_module()
class MultiScaleFusion(BaseModule):
    """Fuse ``r`` with the SNN output at several temporal scales [A]/[I].

    Args:
        fusion (dict): FUSIONS config of the per-scale fusion (e.g.
            ``dict(type='TuckerFusion')``); ``r_channels``, ``s_channels``
            and ``out_channels`` are filled in when missing.
        r_channels (int): width ``d_r`` of ``r``.
        s_channels (int): width ``d_s`` of ``s`` and of the step outputs.
        out_channels (int): output width ``d_o``.
        scales (sequence of str): subset of ``('pooled', 'steps')``, no
            repeats. Default ``('pooled', 'steps')`` [I].
        combine (str): ``'sum'``, ``'mean'`` or ``'concat'`` (concatenate
            the scale outputs, then ``Linear(n_scales * d_o -> d_o)``).
            Default ``'sum'`` [I].
        share_fusion (bool): one fusion module for all scales instead of one
            per scale; the scales then go through it in one call (the
            transformer side is projected once). Default True [I] (half
            the parameters; per-scale modules are the option).
        scale_norm (bool): LayerNorm(``d_o``) on each fused output before
            pooling / combining (see module note). Default True [I].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``r [B, d_r]``, ``s [B, d_s]``, ``s_steps [T, B, d_s]`` (needed for
        ``'steps'``), ``step_weights`` ``[T]``, ``[T, B]`` or ``[T, B, 1]``
        (optional; weights over T, expected to sum to 1; None = mean over
        steps) -> ``[B, d_o]``. More leading dims after ``B`` work as long as
        they broadcast.

    Raises:
        ValueError: on an unknown / repeated / empty scale, an unknown
            ``combine``; at forward, if ``'steps'`` is a scale and
            ``s_steps`` is None, or ``step_weights`` has a wrong shape.
    """

    def __init__(self, fusion: dict, r_channels: int, s_channels: int,
                 out_channels: int,
                 scales: Sequence[str] = ('pooled', 'steps'),
                 combine: str = 'sum', share_fusion: bool = True,
                 scale_norm: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scales = tuple(scales)
        if not scales or len(set(scales)) != len(scales) or any(
                sc not in _SCALES for sc in scales):
            raise ValueError(f'scales must be a non-empty subset of '
                             f'{_SCALES} without repeats, got {scales}')
        if combine not in _COMBINES:
            raise ValueError(f'combine must be one of {_COMBINES}, '
                             f'got {combine!r}')
        self.scales, self.combine = scales, combine
        self.share_fusion = share_fusion
        self.out_channels = out_channels
        cfg = copy.deepcopy(dict(fusion))
        cfg.setdefault('r_channels', r_channels)
        cfg.setdefault('s_channels', s_channels)
        cfg.setdefault('out_channels', out_channels)
        if share_fusion:
            shared = FUSIONS.build(cfg)
            self.fusions = nn.ModuleDict({sc: shared for sc in scales})
        else:
            self.fusions = nn.ModuleDict(
                {sc: FUSIONS.build(copy.deepcopy(cfg)) for sc in scales})
        self.norms = nn.ModuleDict({
            sc: (nn.LayerNorm(out_channels) if scale_norm else nn.Identity())
            for sc in scales})
        self.proj = (nn.Linear(len(scales) * out_channels, out_channels)
                     if combine == 'concat' else None)

    @staticmethod
    def _pool_steps(y: torch.Tensor,
                    step_weights: Optional[torch.Tensor]) -> torch.Tensor:
        """Weighted sum over dim 0: ``y [T, B, ..., d]`` -> ``[B, ..., d]``."""
        if step_weights is None:
            return y.mean(0)
        w = step_weights
        if w.dim() == 1:
            w = w.reshape(-1, *([1] * (y.dim() - 1)))
        elif w.dim() == y.dim() - 1:
            w = w.unsqueeze(-1)
        ok = w.dim() == y.dim() and w.shape[0] == y.shape[0]
        if ok:
            try:
                torch.broadcast_shapes(w.shape, y.shape)
            except RuntimeError:
                ok = False
        if not ok:
            raise ValueError(f'step_weights {tuple(step_weights.shape)} do '
                             f'not match step outputs {tuple(y.shape)}')
        return (w.to(y.dtype) * y).sum(0)

    def forward(self, r: torch.Tensor, s: torch.Tensor,
                s_steps: Optional[torch.Tensor] = None,
                step_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fuse at every configured scale and combine -> ``[B, d_o]``."""
        if 'steps' in self.scales and s_steps is None:
            raise ValueError("scale 'steps' needs s_steps [T, B, d_s]")
        if self.share_fusion and len(self.scales) == 2 and \
                tuple(s_steps.shape[1:]) == tuple(s.shape):
            # one call over [s; s_1 .. s_T]: r's side is computed once
            both = torch.cat([s.unsqueeze(0), s_steps.to(s.dtype)], dim=0)
            y = self.fusions['pooled'](r.unsqueeze(0), both)
            fused = dict(pooled=self.norms['pooled'](y[0]),
                         steps=self._pool_steps(self.norms['steps'](y[1:]),
                                                step_weights))
            return self._combine([fused[sc] for sc in self.scales])
        outs = []
        for sc in self.scales:
            if sc == 'pooled':
                y = self.norms[sc](self.fusions[sc](r, s))
            else:
                y = self.norms[sc](self.fusions[sc](r.unsqueeze(0), s_steps))
                y = self._pool_steps(y, step_weights)
            outs.append(y)
        return self._combine(outs)

    def _combine(self, outs: list) -> torch.Tensor:
        if self.combine == 'concat':
            return self.proj(torch.cat(outs, dim=-1))
        y = torch.stack(outs, 0).sum(0)
        return y / len(outs) if self.combine == 'mean' else y
