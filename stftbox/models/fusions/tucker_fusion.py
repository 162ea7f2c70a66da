"""Temporal-semantic Tucker fusion (STFT, Li et al., IEEE TIP 2024, [A]).

A full bilinear map ``y_k = sum_ij W[k, i, j] r_i s_j`` between the
transformer output ``r`` (semantic) and the SNN output ``s`` (temporal) needs
``d_o * d_r * d_s`` weights (134 M at ``d = 512``). The Tucker decomposition
of ``W`` used by MUTAN (Ben-younes et al., ICCV 2017) keeps every
second-order interaction but factorises ``W`` into a small core tensor
``G`` of ranks ``R_r x R_s x R_o`` and three factor matrices::

    y = G x_1 (U_r r) x_2 (U_s s) x_3 U_o

(``x_n`` = mode-n product). The abstract [A] states the purpose (full
second-order interactions with few parameters); the MUTAN form and the rank
default 60 are from summaries of the paper [S] (docs/method.md).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import FUSIONS


def _build_activation(name: Optional[str]) -> nn.Module:
    """``nn.Identity()`` for ``None``, else ``getattr(torch.nn, name)()``.

    Raises:
        ValueError: if ``torch.nn`` has no activation class called ``name``.
    """
    if name is None:
        return nn.Identity()
    act = getattr(nn, name, None)
    if not (isinstance(act, type) and issubclass(act, nn.Module)):
        raise ValueError(f'unknown activation {name!r} (expected a class '
                         'name from torch.nn, e.g. "Tanh", "ReLU")')
    return act()


@FUSIONS.register_module()
class TuckerFusion(BaseModule):
    """Tucker (MUTAN-style) bilinear fusion of ``r`` and ``s`` ([A] + [S]).

    ``y = G x_1 (U_r r) x_2 (U_s s) x_3 U_o`` with core ``G`` of shape
    ``[R_r, R_s, R_o]`` and factors ``U_r: d_r -> R_r``, ``U_s: d_s -> R_s``,
    ``U_o: R_o -> d_o`` (``nn.Linear``). Written out::

        r' = U_r r,  s' = U_s s,  z_o = sum_ij G[i, j, o] r'_i s'_j,
        y = act(U_o dropout(z))

    With the defaults (no bias, no activation, no dropout) ``y`` is a pure
    bilinear function of ``(r, s)``: linear in ``r`` for fixed ``s`` and vice
    versa. With full ranks (``R_r = d_r, R_s = d_s, R_o = d_o``) and identity
    factors, ``G`` can hold any full bilinear weight (``G = W.permute(1, 2,
    0)`` for an ``nn.Bilinear`` weight ``W [d_o, d_r, d_s]``).

    Parameter count (see :meth:`num_parameters_formula`)::

        d_r R_r + d_s R_s + R_r R_s R_o + R_o d_o  (+ R_r + R_s + d_o if bias)

    e.g. 307,200 at ``d = 512``, rank 60, against 134,217,728 for a full
    bilinear layer.

    Args:
        r_channels (int): width ``d_r`` of ``r`` (transformer branch).
        s_channels (int): width ``d_s`` of ``s`` (SNN branch).
        out_channels (int): width ``d_o`` of the output.
        rank_r (int): Tucker rank ``R_r``. Default 60 [S].
        rank_s (int): Tucker rank ``R_s``. Default 60 [S].
        rank_o (int): Tucker rank ``R_o``. Default 60 [S].
        bias (bool): biases in the three factor layers (MUTAN has them;
            they make ``y`` affine rather than bilinear). Default False [I].
        input_activation (str, optional): ``torch.nn`` activation applied to
            ``U_r r`` and ``U_s s`` (MUTAN uses ``'Tanh'``). Default None [I].
        activation (str, optional): ``torch.nn`` activation applied to the
            output. Default None [I].
        dropout (float): dropout on the projected inputs and on ``z``.
            Default 0.0 [I].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``r [..., d_r]``, ``s [..., d_s]`` with leading dims that broadcast
        (e.g. ``r [B, d_r]`` and ``s [T, B, d_s]`` fuse per time step)
        -> ``[..., d_o]`` (broadcast leading dims).

    Raises:
        ValueError: if a width or rank is not a positive int, ``dropout`` is
            outside ``[0, 1)``, or an activation name is unknown; at forward,
            if the last dims do not match ``d_r`` / ``d_s`` or the leading
            dims do not broadcast.
    """

    def __init__(self, r_channels: int, s_channels: int, out_channels: int,
                 rank_r: int = 60, rank_s: int = 60, rank_o: int = 60,
                 bias: bool = False,
                 input_activation: Optional[str] = None,
                 activation: Optional[str] = None,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, val in dict(r_channels=r_channels, s_channels=s_channels,
                              out_channels=out_channels, rank_r=rank_r,
                              rank_s=rank_s, rank_o=rank_o).items():
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f'{name} must be a positive int, got {val!r}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.r_channels, self.s_channels = r_channels, s_channels
        self.out_channels = out_channels
        self.ranks = (rank_r, rank_s, rank_o)
        self.with_bias = bias
        self.proj_r = nn.Linear(r_channels, rank_r, bias=bias)
        self.proj_s = nn.Linear(s_channels, rank_s, bias=bias)
        self.core = nn.Parameter(torch.empty(rank_r, rank_s, rank_o))
        self.proj_o = nn.Linear(rank_o, out_channels, bias=bias)
        self.input_act = _build_activation(input_activation)
        self.act = _build_activation(activation)
        self.drop = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform factors, zero biases and a normal core with std
        ``1 / sqrt(R_r R_s)`` so that ``z`` keeps the scale of ``r' * s'``."""
        for lin in (self.proj_r, self.proj_s, self.proj_o):
            nn.init.xavier_uniform_(lin.weight)
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)
        nn.init.normal_(self.core, std=1.0 / math.sqrt(self.ranks[0] *
                                                        self.ranks[1]))

    @staticmethod
    def num_parameters_formula(r_channels: int, s_channels: int,
                               out_channels: int, rank_r: int = 60,
                               rank_s: int = 60, rank_o: int = 60,
                               bias: bool = False) -> int:
        """Number of trainable parameters of a :class:`TuckerFusion`.

        ``d_r R_r + d_s R_s + R_r R_s R_o + R_o d_o``, plus
        ``R_r + R_s + d_o`` when ``bias`` is True.
        """
        n = (r_channels * rank_r + s_channels * rank_s
             + rank_r * rank_s * rank_o + rank_o * out_channels)
        if bias:
            n += rank_r + rank_s + out_channels
        return n

    @staticmethod
    def full_bilinear_num_parameters(r_channels: int, s_channels: int,
                                     out_channels: int,
                                     bias: bool = True) -> int:
        """Parameters of a full bilinear layer (``nn.Bilinear``):
        ``d_o d_r d_s`` (+ ``d_o`` with bias)."""
        return (out_channels * r_channels * s_channels
                + (out_channels if bias else 0))

    def forward(self, r: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Fuse ``r [..., d_r]`` and ``s [..., d_s]`` -> ``[..., d_o]``."""
        if r.shape[-1] != self.r_channels or s.shape[-1] != self.s_channels:
            raise ValueError(
                f'expected r [..., {self.r_channels}] and s [..., '
                f'{self.s_channels}], got {tuple(r.shape)} and '
                f'{tuple(s.shape)}')
        try:
            torch.broadcast_shapes(r.shape[:-1], s.shape[:-1])
        except RuntimeError as err:
            raise ValueError(f'leading dims of r {tuple(r.shape)} and s '
                             f'{tuple(s.shape)} do not broadcast') from err
        rank_r, rank_s, rank_o = self.ranks
        rp = self.drop(self.input_act(self.proj_r(r)))   # [..., R_r]
        sp = self.drop(self.input_act(self.proj_s(s)))   # [..., R_s]
        # Contract G with the operand that has fewer rows first, then the
        # other one by a broadcasting matmul.
        if rp[..., 0].numel() <= sp[..., 0].numel():
            g = (rp @ self.core.reshape(rank_r, rank_s * rank_o)).unflatten(
                -1, (rank_s, rank_o))                     # [..., R_s, R_o]
            z = (sp.unsqueeze(-2) @ g).squeeze(-2)        # [..., R_o]
        else:
            g = (sp @ self.core.transpose(0, 1).reshape(
                rank_s, rank_r * rank_o)).unflatten(-1, (rank_r, rank_o))
            z = (rp.unsqueeze(-2) @ g).squeeze(-2)
        return self.act(self.proj_o(self.drop(z)))

    def extra_repr(self) -> str:
        return (f'r_channels={self.r_channels}, s_channels={self.s_channels}, '
                f'out_channels={self.out_channels}, ranks={self.ranks}, '
                f'bias={self.with_bias}')
