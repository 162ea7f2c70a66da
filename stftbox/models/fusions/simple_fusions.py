"""Comparison fusions for the STFT ablation (concat, full bilinear) [I].

Both follow the FUSIONS interface ``forward(r [..., d_r], s [..., d_s]) ->
[..., d_o]`` with broadcasting leading dims, like :class:`TuckerFusion`.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import FUSIONS
from .tucker_fusion import _build_activation


def broadcast_pair(r: torch.Tensor, s: torch.Tensor, r_channels: int,
                   s_channels: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Expand ``r [..., d_r]`` and ``s [..., d_s]`` to common leading dims.

    Returns:
        ``(r [*lead, d_r], s [*lead, d_s])`` as expanded views.

    Raises:
        ValueError: if the last dims are not ``d_r`` / ``d_s`` or the
            leading dims do not broadcast.
    """
    if r.shape[-1] != r_channels or s.shape[-1] != s_channels:
        raise ValueError(f'expected r [..., {r_channels}] and s [..., '
                         f'{s_channels}], got {tuple(r.shape)} and '
                         f'{tuple(s.shape)}')
    try:
        lead = torch.broadcast_shapes(r.shape[:-1], s.shape[:-1])
    except RuntimeError as err:
        raise ValueError(f'leading dims of r {tuple(r.shape)} and s '
                         f'{tuple(s.shape)} do not broadcast') from err
    return r.expand(*lead, r_channels), s.expand(*lead, s_channels)


@FUSIONS.register_module()
class ConcatFusion(BaseModule):
    """Concatenate ``r`` and ``s`` and project: ``y = act(W [r; s] + b)``
    (first-order baseline, no interaction terms) [I].

    Args:
        r_channels (int): width ``d_r`` of ``r``.
        s_channels (int): width ``d_s`` of ``s``.
        out_channels (int): output width ``d_o``.
        bias (bool): bias in the projection. Default True.
        activation (str, optional): ``torch.nn`` activation name applied to
            the output. Default None.
        dropout (float): dropout on the concatenation. Default 0.0.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``r [..., d_r]``, ``s [..., d_s]`` (broadcasting leading dims)
        -> ``[..., d_o]``.

    Raises:
        ValueError: on an unknown activation, or (forward) mismatched widths
            or non-broadcasting leading dims.
    """

    def __init__(self, r_channels: int, s_channels: int, out_channels: int,
                 bias: bool = True, activation: Optional[str] = None,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.r_channels, self.s_channels = r_channels, s_channels
        self.out_channels = out_channels
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(r_channels + s_channels, out_channels,
                              bias=bias)
        self.act = _build_activation(activation)

    def forward(self, r: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """``[..., d_r], [..., d_s] -> [..., d_o]``."""
        r, s = broadcast_pair(r, s, self.r_channels, self.s_channels)
        return self.act(self.proj(self.drop(torch.cat([r, s], dim=-1))))


@FUSIONS.register_module()
class BilinearFusion(BaseModule):
    """Full bilinear fusion ``y_k = sum_ij W[k, i, j] r_i s_j + b_k``
    (``nn.Bilinear``), the expensive form that Tucker fusion factorises
    (STFT abstract [A]: "increased number of parameters in a straightforward
    bilinear model"). ``d_o d_r d_s`` weights.

    Args:
        r_channels (int): width ``d_r`` of ``r``.
        s_channels (int): width ``d_s`` of ``s``.
        out_channels (int): output width ``d_o``.
        bias (bool): bias ``b``. Default True.
        activation (str, optional): ``torch.nn`` activation name applied to
            the output. Default None.
        dropout (float): dropout on both inputs. Default 0.0.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``r [..., d_r]``, ``s [..., d_s]`` (broadcasting leading dims)
        -> ``[..., d_o]``.

    Raises:
        ValueError: on an unknown activation, or (forward) mismatched widths
            or non-broadcasting leading dims.
    """

    def __init__(self, r_channels: int, s_channels: int, out_channels: int,
                 bias: bool = True, activation: Optional[str] = None,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.r_channels, self.s_channels = r_channels, s_channels
        self.out_channels = out_channels
        self.drop = nn.Dropout(dropout)
        self.bilinear = nn.Bilinear(r_channels, s_channels, out_channels,
                                    bias=bias)
        self.act = _build_activation(activation)

    def forward(self, r: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """``[..., d_r], [..., d_s] -> [..., d_o]``."""
        r, s = broadcast_pair(r, s, self.r_channels, self.s_channels)
        lead = r.shape[:-1]
        y = self.bilinear(self.drop(r).reshape(-1, self.r_channels),
                          self.drop(s).reshape(-1, self.s_channels))
        return self.act(y.reshape(*lead, self.out_channels))
