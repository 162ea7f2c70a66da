"""Local poolings along the token (time) axis that shape the neuron input.

STFT's global-local pooling (GLP) [A] combines max pooling and average
pooling of the input to shape the membrane-potential input and reduce spike
noise. All poolings here share one interface:

``forward(x [..., L, C], padding_mask [..., L] bool | None) -> [..., L, C]``

a sliding window of ``kernel_size`` tokens (stride 1, ``kernel_size // 2``
padding) along ``L``, per channel, vectorised over every leading axis (e.g.
``T x B``). Padded tokens (``padding_mask`` True) never enter a window and
their outputs are 0. How the output modulates the neuron input (residual
sigmoid gating ``x * (1 + sigmoid(P))`` by default, [S]) is done by the SNN
block (:class:`~stftbox.models.backbones.snn_branch.SNNBranch`).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from stftbox.registry import POOLINGS

__all__ = ['BaseTokenPooling', 'MaxPooling', 'AvgPooling',
           'GlobalLocalPooling']


class BaseTokenPooling(BaseModule):
    """Base of the token poolings: checks shapes and implements masked
    max / average pooling along the token axis.

    Args:
        kernel_size (int): window length in tokens, odd and >= 1. Default 3
            [I] (the paper's window is not public).
        count_include_pad (bool): whether the average divides by the full
            window including the zero padding at the sequence ends (as
            ``F.avg_pool1d``'s flag); default False [I], so a one-token
            sequence is left unchanged. Padded tokens (``padding_mask``) are
            treated like that end padding, so a padded sample gives on its
            valid tokens exactly the output of the unpadded sample.
        init_cfg (dict | None): mmengine init config.

    Raises:
        ValueError: even or non-positive ``kernel_size``; input with fewer
            than 2 dims; mask shape not equal to ``x.shape[:-1]`` or
            broadcastable to it.
    """

    def __init__(self, kernel_size: int = 3, count_include_pad: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('kernel_size must be odd and >= 1 (the output '
                             f'keeps the length), got {kernel_size}')
        self.kernel_size = int(kernel_size)
        self.count_include_pad = count_include_pad

    # [..., L, C] <-> [N, C, L]
    @staticmethod
    def _to_ncl(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, x.shape[-2], x.shape[-1]).transpose(1, 2)

    @staticmethod
    def _from_ncl(y: torch.Tensor, shape) -> torch.Tensor:
        return y.transpose(1, 2).reshape(shape)

    def _valid(self, x: torch.Tensor,
               padding_mask: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if x.dim() < 2:
            raise ValueError(f'expected x of shape [..., L, C], got '
                             f'{tuple(x.shape)}')
        if padding_mask is None:
            return None
        try:
            mask = padding_mask.to(torch.bool).expand(x.shape[:-1])
        except RuntimeError as err:
            raise ValueError(
                f'padding_mask of shape {tuple(padding_mask.shape)} does not '
                f'broadcast to x.shape[:-1] = {tuple(x.shape[:-1])}') from err
        if not bool(padding_mask.any()):  # nothing padded: unmasked path
            return None
        return ~mask

    def max_pool(self, x: torch.Tensor,
                 padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Sliding max along ``L``; ``[..., L, C] -> [..., L, C]``. Without a
        mask it equals ``F.max_pool1d(x.transpose(-1, -2), k, 1, k // 2)``
        transposed back."""
        valid = self._valid(x, padding_mask)
        k = self.kernel_size
        if valid is None:
            y = F.max_pool1d(self._to_ncl(x), k, 1, k // 2)
            return self._from_ncl(y, x.shape)
        v = valid.unsqueeze(-1)
        xm = x.masked_fill(~v, float('-inf'))
        y = self._from_ncl(F.max_pool1d(self._to_ncl(xm), k, 1, k // 2),
                           x.shape)
        # windows of padded tokens may be all -inf; padded outputs are 0
        return y.masked_fill(~v, 0.0)

    def avg_pool(self, x: torch.Tensor,
                 padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Sliding mean along ``L``; ``[..., L, C] -> [..., L, C]``. Without
        a mask it equals ``F.avg_pool1d(x.transpose(-1, -2), k, 1, k // 2,
        count_include_pad=self.count_include_pad)`` transposed back; padded
        tokens count as the sequence-end padding."""
        valid = self._valid(x, padding_mask)
        k = self.kernel_size
        if valid is None:
            y = F.avg_pool1d(self._to_ncl(x), k, 1, k // 2,
                             count_include_pad=self.count_include_pad)
            return self._from_ncl(y, x.shape)
        v = valid.unsqueeze(-1).to(x.dtype)
        total = F.avg_pool1d(self._to_ncl(x * v), k, 1, k // 2,
                             count_include_pad=True)
        count = F.avg_pool1d(self._to_ncl(v), k, 1, k // 2,
                             count_include_pad=True)
        if self.count_include_pad:
            # divide by the window length, as F.avg_pool1d would: total
            # already is sum / k
            y = total
        else:
            y = total / count.clamp_min(1.0 / k)
        return self._from_ncl(y, x.shape) * v

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        raise NotImplementedError


@POOLINGS.register_module()
class MaxPooling(BaseTokenPooling):
    """Local max pooling along the token axis (GLP's "local" extreme).

    Args: see :class:`BaseTokenPooling`.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None -> ``[..., L, C]``.
    """

    def forward(self, x, padding_mask=None):
        return self.max_pool(x, padding_mask)


@POOLINGS.register_module()
class AvgPooling(BaseTokenPooling):
    """Local average pooling along the token axis (GLP's smoothing part).

    Args: see :class:`BaseTokenPooling`.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None -> ``[..., L, C]``.
    """

    def forward(self, x, padding_mask=None):
        return self.avg_pool(x, padding_mask)


@POOLINGS.register_module()
class GlobalLocalPooling(BaseTokenPooling):
    r"""Global-local pooling (GLP), STFT [A]: a learnable mix of local max
    pooling (salient, "local") and local average pooling (smooth, "global"
    context) of the neuron input.

    ``form='paper'`` (default, [S] published summaries):
    :math:`P = \tfrac12(P_{max} + P_{avg}) + \beta P_{max} +
    (1 - \beta) P_{avg}`, i.e. ``(0.5 + beta) P_max + (1.5 - beta) P_avg``;
    its weights sum to 2, so it never equals a single pooling: at
    ``beta = 1`` it is ``1.5 P_max + 0.5 P_avg``, at ``beta = 0`` it is
    ``0.5 P_max + 1.5 P_avg``.

    ``form='convex'`` ([I], the earlier default):
    :math:`P = \beta P_{max} + (1 - \beta) P_{avg}`; exactly max pooling at
    :math:`\beta = 1` and exactly average pooling at :math:`\beta = 0`.

    The mix is the learnable scalar ``beta_raw`` (attribute ``beta``) mapped
    by ``mix_activation``: ``'sigmoid'`` (default, [S] "learnable beta
    squashed by a sigmoid") ``beta = sigmoid(beta_raw)`` (smooth, ends only
    in the limit) or ``'clamp'`` ([I]) ``beta = clamp(beta_raw, 0, 1)`` (the
    ends are reachable exactly; no gradient once ``beta_raw`` leaves
    [0, 1]). How ``P`` then modulates the neuron input (residual sigmoid
    gate ``u (1 + sigmoid(P))``, [S]) is the block's part
    (:class:`~stftbox.models.backbones.snn_branch.SpikingBlock`).

    Without padding (mask None or all False) both poolings are single
    ``F.max_pool1d`` / ``F.avg_pool1d`` calls; the masked path only runs
    when something is padded.

    Args:
        kernel_size (int): odd window length in tokens. Default 3 [I].
        init_mix (float): initial ``beta`` in [0, 1] (in (0, 1) for
            ``'sigmoid'``). Default 0.5 [I].
        form (str): ``'paper'`` (default [S]) or ``'convex'`` [I].
        mix_activation (str): ``'sigmoid'`` (default [S]) or ``'clamp'``
            [I].
        learnable (bool): ``beta`` is a parameter (else a buffer).
        count_include_pad (bool): see :class:`BaseTokenPooling`.
        init_cfg (dict | None): mmengine init config.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None -> ``P [..., L, C]`` (same unit as ``x``).

    Raises:
        ValueError: bad ``form`` / ``mix_activation`` / ``init_mix`` /
            ``kernel_size``, or shape errors (see :class:`BaseTokenPooling`).
    """

    def __init__(self, kernel_size: int = 3, init_mix: float = 0.5,
                 form: str = 'paper', mix_activation: str = 'sigmoid',
                 learnable: bool = True, count_include_pad: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(kernel_size, count_include_pad, init_cfg)
        if form not in ('convex', 'paper'):
            raise ValueError(f"form must be 'convex' or 'paper', got {form!r}")
        if mix_activation == 'clamp':
            if not 0.0 <= init_mix <= 1.0:
                raise ValueError(f'init_mix must be in [0, 1], got {init_mix}')
            beta = float(init_mix)
        elif mix_activation == 'sigmoid':
            if not 0.0 < init_mix < 1.0:
                raise ValueError('init_mix must be in (0, 1) with a sigmoid '
                                 f'mix, got {init_mix}')
            beta = math.log(init_mix / (1.0 - init_mix))
        else:
            raise ValueError("mix_activation must be 'clamp' or 'sigmoid', "
                             f'got {mix_activation!r}')
        self.form = form
        self.mix_activation = mix_activation
        beta = torch.tensor(beta)
        if learnable:
            self.beta = nn.Parameter(beta)
        else:
            self.register_buffer('beta', beta)

    @property
    def mix(self) -> torch.Tensor:
        """The max-pooling weight ``beta`` after ``mix_activation`` (0-d
        tensor in [0, 1])."""
        if self.mix_activation == 'clamp':
            return self.beta.clamp(0.0, 1.0)
        return torch.sigmoid(self.beta)

    @torch.no_grad()
    def set_mix(self, value: float) -> None:
        """Set the mix (for ablations / tests); ``value`` in [0, 1]
        (``'sigmoid'``: 0 and 1 map to -inf / +inf)."""
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'mix must be in [0, 1], got {value}')
        if self.mix_activation == 'clamp':
            self.beta.fill_(value)
        else:
            self.beta.fill_(torch.logit(torch.tensor(float(value))).item())

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        lam = self.mix.to(x.dtype)
        p_max = self.max_pool(x, padding_mask)
        p_avg = self.avg_pool(x, padding_mask)
        out = lam * p_max + (1.0 - lam) * p_avg
        if self.form == 'paper':
            out = out + 0.5 * (p_max + p_avg)
        return out

    def extra_repr(self) -> str:
        return (f'kernel_size={self.kernel_size}, form={self.form}, '
                f'mix_activation={self.mix_activation}')
