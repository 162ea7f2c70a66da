"""Low-rank bilinear fusion with a Hadamard product (MLB).

Source: Kim, On, Lim, Kim, Ha, Zhang, "Hadamard Product for Low-rank
Bilinear Pooling", ICLR 2017 (MLB). A bilinear map ``y_k = r^T W_k s``
with every ``W_k`` restricted to rank ``R``: both inputs are projected to
``R`` dims, squashed, multiplied element-wise and projected to the output.
Compared with stftbox's ``TuckerFusion`` it has no core tensor (the core is
diagonal), so it is cheaper but mixes fewer interaction terms.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import FUSIONS

__all__ = ['MLBFusion']


@FUSIONS.register_module()
class MLBFusion(BaseModule):
    """``y = W_o drop(act(U_r r + b_r) * act(U_s s + b_s)) + b_o`` (MLB).

    Follows the stftbox fusion interface (``stftbox/models/fusions``):
    built with ``r_channels``, ``s_channels``, ``out_channels`` (filled in
    by ``STFTBackbone`` / ``MultiScaleFusion``) and called as
    ``forward(r, s)``.

    Args:
        r_channels (int): width ``d_r`` of ``r`` (transformer branch).
        s_channels (int): width ``d_s`` of ``s`` (SNN branch).
        out_channels (int): output width ``d_o``.
        rank (int): rank ``R`` of the factorised bilinear map. Default 64.
        activation (str, optional): ``torch.nn`` activation class applied
            to both projections before the product; None = identity (a pure
            bilinear map). Default ``'Tanh'`` (as in MLB).
        dropout (float): dropout on the ``R``-dim product. Default 0.0.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``r [..., d_r]``, ``s [..., d_s]`` with broadcasting leading dims
        (e.g. ``r [B, d_r]`` with per-step ``s [T, B, d_s]``) ->
        ``[..., d_o]``.

    Raises:
        ValueError: ``rank < 1``, an unknown ``activation``; in ``forward``
            inputs whose last dims are not ``d_r`` / ``d_s`` or whose
            leading dims do not broadcast.
    """

    def __init__(self, r_channels: int, s_channels: int, out_channels: int,
                 rank: int = 64, activation: Optional[str] = 'Tanh',
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if rank < 1:
            raise ValueError(f'rank must be >= 1, got {rank}')
        act = nn.Identity if activation is None else getattr(
            nn, activation, None)
        if not (isinstance(act, type) and issubclass(act, nn.Module)):
            raise ValueError(f'unknown activation {activation!r} (a class '
                             'name of torch.nn such as "Tanh", or None)')
        self.r_channels, self.s_channels = r_channels, s_channels
        self.out_channels, self.rank = out_channels, rank
        self.proj_r = nn.Linear(r_channels, rank)
        self.proj_s = nn.Linear(s_channels, rank)
        self.act = act()
        self.drop = nn.Dropout(dropout)
        self.proj_o = nn.Linear(rank, out_channels)

    def forward(self, r: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Fuse ``r [..., d_r]`` and ``s [..., d_s]`` -> ``[..., d_o]``."""
        if r.shape[-1] != self.r_channels or s.shape[-1] != self.s_channels:
            raise ValueError(f'expected r [..., {self.r_channels}] and s '
                             f'[..., {self.s_channels}], got '
                             f'{tuple(r.shape)} and {tuple(s.shape)}')
        try:
            torch.broadcast_shapes(r.shape[:-1], s.shape[:-1])
        except RuntimeError as err:
            raise ValueError(f'leading dims of r {tuple(r.shape)} and s '
                             f'{tuple(s.shape)} do not broadcast') from err
        z = self.act(self.proj_r(r)) * self.act(self.proj_s(s))
        return self.proj_o(self.drop(z))
