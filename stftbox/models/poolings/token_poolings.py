"""Local poolings along the token (time) axis that shape the neuron input.

STFT's global-local pooling (GLP) [A] combines max pooling and average
pooling of the input to shape the membrane-potential input and reduce spike
noise. All poolings here share one interface:

``forward(x [..., L, C], padding_mask [..., L] bool | None,
boundaries Sequence[int] | None) -> [..., L, C]``

a sliding window of ``kernel_size`` tokens (stride 1, ``kernel_size // 2``
padding) along ``L``, per channel, vectorised over every leading axis (e.g.
``T x B``), computed channels last (no transposes). Padded tokens
(``padding_mask`` True) never enter a window and their outputs are 0;
``boundaries`` (token indices where a new segment starts, the same for
every sequence) clip the windows at the segment edges like at the sequence
ends, without any mask. How the output modulates the neuron input (residual
sigmoid gating ``x * (1 + sigmoid(P))`` by default, [S]) is done by the SNN
block (:class:`~stftbox.models.backbones.snn_branch.SNNBranch`).
"""
import functools
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from stftbox.registry import POOLINGS

from stftbox.ops.glp_gate import gated_glp
from .pooling_ops import mix_poolings, replace_columns

__all__ = ['BaseTokenPooling', 'MaxPooling', 'AvgPooling',
           'GlobalLocalPooling', 'segment_fixes']


def segment_fixes(length: int, boundaries, half: int) -> tuple:
    """Where windows clipped at segment edges differ from the windows of the
    whole sequence.

    Args:
        length (int): sequence length ``L``.
        boundaries (Sequence[int] | None): token indices where a new segment
            starts (``0 < b < L``; same for every sequence of the batch).
        half (int): half-width of the windows (``kernel_size // 2``).

    Returns:
        tuple: ``((c0, c1, s0, s1), ...)``: output columns ``[c0, c1)`` to
        recompute from the crop ``[s0, s1)`` of their segment (the crop
        holds every in-segment token of their windows, so the window clipped
        at the crop's ends is the window clipped at the segment's edges).
        Empty when ``half == 0`` or there is no boundary.

    Raises:
        ValueError: a boundary outside ``(0, L)``.
    """
    if half <= 0 or not boundaries:
        return ()
    return _segment_fixes(int(length), tuple(sorted(set(
        int(b) for b in boundaries))), int(half))


@functools.lru_cache(maxsize=256)
def _segment_fixes(length: int, edges: tuple, half: int) -> tuple:
    if edges[0] <= 0 or edges[-1] >= length:
        raise ValueError(f'boundaries must lie in (0, L = {length}), got '
                         f'{list(edges)}')
    fixes = []
    for s, e in zip((0,) + edges, edges + (length,)):
        ranges = []
        if s > 0:
            ranges.append((s, min(s + half, e)))
        if e < length:
            ranges.append((max(e - half, s), e))
        if len(ranges) == 2 and ranges[0][1] >= ranges[1][0]:
            ranges = [(s, e)]
        fixes += [(c0, c1, max(s, c0 - half), min(e, c1 + half))
                  for c0, c1 in ranges]
    return tuple(fixes)


@functools.lru_cache(maxsize=256)
def _crop_groups(fixes: tuple) -> tuple:
    """Group the crops of :func:`segment_fixes` by length: ``((n, source
    columns, picked rows, output columns), ...)``; the picked rows index
    the flattened ``[crops * n]`` outputs of the group's crops and land in
    the output columns."""
    groups = {}
    for c0, c1, s0, s1 in fixes:
        src, pick, cols = groups.setdefault(s1 - s0, ([], [], []))
        base = len(src)
        src.extend(range(s0, s1))
        pick.extend(base + j - s0 for j in range(c0, c1))
        cols.extend(range(c0, c1))
    return tuple((n, tuple(src), tuple(pick), tuple(cols))
                 for n, (src, pick, cols) in groups.items())


class BaseTokenPooling(BaseModule):
    """Base of the token poolings: checks shapes and implements masked
    max / average pooling along the token axis, channels last (no
    transposes: the ``[N, L, C]`` tokens are pooled as the channels-last
    image ``[N, C, 1, L]`` they already are in memory).

    Subclasses implement :meth:`pool` (the unmasked pooling of one
    sequence, windows clipped at its ends); :meth:`forward` adds padding
    masks and segment boundaries.

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

    Forward:
        ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True = padded,
        broadcastable to ``x.shape[:-1]``) or None, ``boundaries``
        (Sequence[int] | None: token indices ``0 < b < L`` where a new
        segment starts, the same for every sequence) -> ``[..., L, C]``.
        With boundaries, every window is clipped at the segment edges
        exactly as at the sequence ends, i.e. each segment is pooled as its
        own sequence: the whole sequence is pooled once and only the
        ``kernel_size // 2`` columns on each side of a boundary are
        recomputed.

    Raises:
        ValueError: even or non-positive ``kernel_size``; input with fewer
            than 2 dims; mask shape not equal to ``x.shape[:-1]`` or
            broadcastable to it; a boundary outside ``(0, L)``.
    """

    def __init__(self, kernel_size: int = 3, count_include_pad: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError('kernel_size must be odd and >= 1 (the output '
                             f'keeps the length), got {kernel_size}')
        self.kernel_size = int(kernel_size)
        self.count_include_pad = count_include_pad

    # [..., L, C] <-> the channels-last image [N, C, 1, L] (views, no copy
    # when x is contiguous)
    @staticmethod
    def _to_image(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, 1, x.shape[-2], x.shape[-1]).permute(0, 3, 1, 2)

    @staticmethod
    def _from_image(y: torch.Tensor, shape) -> torch.Tensor:
        return y.permute(0, 2, 3, 1).reshape(shape)

    def _max(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        if k == 1:
            return x
        y = F.max_pool2d(self._to_image(x), (1, k), 1, (0, k // 2))
        return self._from_image(y, x.shape)

    def _avg(self, x: torch.Tensor, count_include_pad: bool) -> torch.Tensor:
        k = self.kernel_size
        if k == 1:
            return x
        y = F.avg_pool2d(self._to_image(x), (1, k), 1, (0, k // 2),
                         count_include_pad=count_include_pad)
        return self._from_image(y, x.shape)

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

    def _masked_max(self, x: torch.Tensor,
                    valid: torch.Tensor) -> torch.Tensor:
        v = valid.unsqueeze(-1)
        y = self._max(x.masked_fill(~v, float('-inf')))
        # windows of padded tokens may be all -inf; padded outputs are 0
        return y.masked_fill(~v, 0.0)

    def _masked_avg(self, x: torch.Tensor,
                    valid: torch.Tensor) -> torch.Tensor:
        v = valid.unsqueeze(-1).to(x.dtype)
        total = self._avg(x * v, True)
        if self.count_include_pad:
            # divide by the window length, as F.avg_pool1d would: total
            # already is sum / k
            return total * v
        count = self._avg(v.contiguous(), True)
        return total / count.clamp_min(1.0 / self.kernel_size) * v

    def _with_segments(self, fn, x: torch.Tensor,
                       valid: Optional[torch.Tensor], boundaries):
        """``fn(x, valid)`` (a pooling of the whole sequence) with the
        columns next to the segment boundaries recomputed from crops of
        their segment."""
        fixes = segment_fixes(x.shape[-2], boundaries, self.kernel_size // 2)
        y = fn(x, valid)
        if not fixes:
            return y
        # crops of equal length are pooled together as one batch
        # [..., crops, n, C] (one gather, one pooling call per length, one
        # scatter of all fixed columns: few ops, and one full-size pass
        # each in the backward pass)
        parts, cols = [], []
        for n, src, pick, dst in _crop_groups(fixes):
            src = torch.tensor(src, device=x.device)
            xc = x.index_select(-2, src)
            xc = xc.reshape(*x.shape[:-2], -1, n, x.shape[-1])
            vc = None
            if valid is not None:
                vc = valid.index_select(-1, src).reshape(
                    *valid.shape[:-1], -1, n)
            part = fn(xc, vc).flatten(-3, -2)
            parts.append(part.index_select(
                -2, torch.tensor(pick, device=x.device)))
            cols.extend(dst)
        if y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
            y = y.clone()   # a pool() that returned (a view of) its input
        parts = parts[0] if len(parts) == 1 else torch.cat(parts, -2)
        return replace_columns(y, parts, cols)

    def max_pool(self, x: torch.Tensor,
                 padding_mask: Optional[torch.Tensor] = None,
                 boundaries=None) -> torch.Tensor:
        """Sliding max along ``L``; ``[..., L, C] -> [..., L, C]``. Without a
        mask or boundaries it equals ``F.max_pool1d(x.transpose(-1, -2), k,
        1, k // 2)`` transposed back (same values, same gradient: the first
        maximum of a window gets it)."""
        valid = self._valid(x, padding_mask)
        return self._with_segments(
            lambda t, v: self._max(t) if v is None else self._masked_max(
                t, v), x, valid, boundaries)

    def avg_pool(self, x: torch.Tensor,
                 padding_mask: Optional[torch.Tensor] = None,
                 boundaries=None) -> torch.Tensor:
        """Sliding mean along ``L``; ``[..., L, C] -> [..., L, C]``. Without
        a mask or boundaries it equals ``F.avg_pool1d(x.transpose(-1, -2),
        k, 1, k // 2, count_include_pad=self.count_include_pad)`` transposed
        back; padded tokens and other segments count as the sequence-end
        padding."""
        valid = self._valid(x, padding_mask)
        return self._with_segments(
            lambda t, v: self._avg(t, self.count_include_pad)
            if v is None else self._masked_avg(t, v), x, valid, boundaries)

    def pool(self, x: torch.Tensor,
             valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The pooling of whole sequences: ``x [..., L, C]``, ``valid
        [..., L]`` bool (True = real token) or None -> ``[..., L, C]``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None,
                boundaries=None) -> torch.Tensor:
        valid = self._valid(x, padding_mask)
        return self._with_segments(self.pool, x, valid, boundaries)


@POOLINGS.register_module()
class MaxPooling(BaseTokenPooling):
    """Local max pooling along the token axis (GLP's "local" extreme).

    Args: see :class:`BaseTokenPooling`.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None, ``boundaries`` (segment starts) or None ->
    ``[..., L, C]`` (see :class:`BaseTokenPooling`).
    """

    def pool(self, x, valid=None):
        return self._max(x) if valid is None else self._masked_max(x, valid)


@POOLINGS.register_module()
class AvgPooling(BaseTokenPooling):
    """Local average pooling along the token axis (GLP's smoothing part).

    Args: see :class:`BaseTokenPooling`.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None, ``boundaries`` (segment starts) or None ->
    ``[..., L, C]`` (see :class:`BaseTokenPooling`).
    """

    def pool(self, x, valid=None):
        if valid is None:
            return self._avg(x, self.count_include_pad)
        return self._masked_avg(x, valid)


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
    channels-last ``F.max_pool2d`` / ``F.avg_pool2d`` calls on the
    ``[N, C, 1, L]`` view of ``x`` and the mix is one ``torch.lerp`` (times
    2 for ``'paper'``: ``(0.5 + beta) P_max + (1.5 - beta) P_avg = 2 lerp(
    P_avg, P_max, (0.5 + beta) / 2)``); the masked path only runs when
    something is padded. The SNN block calls :meth:`gated` instead (GLP and
    its residual gate as one op, window 3, unpadded tokens), which gives
    the same values.

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
    padded) or None, ``boundaries`` (segment starts, see
    :class:`BaseTokenPooling`) or None -> ``P [..., L, C]`` (same unit as
    ``x``).

    Raises:
        ValueError: bad ``form`` / ``mix_activation`` / ``init_mix`` /
            ``kernel_size``, or shape errors (see :class:`BaseTokenPooling`).
    """

    #: use :meth:`gated` (fused GLP + residual gate) where it applies
    fused_gate = True

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

    def mix_weights(self) -> tuple:
        """``(w_max, w_avg)``, 0-d tensors: ``(0.5 + beta, 1.5 - beta)`` for
        ``form='paper'``, ``(beta, 1 - beta)`` for ``'convex'``."""
        lam = self.mix
        if self.form == 'convex':
            return lam, 1.0 - lam
        return 0.5 + lam, 1.5 - lam

    def gated(self, x: torch.Tensor, boundaries=None) -> Optional[tuple]:
        """GLP and the residual gate fused, for unpadded tokens:
        ``(x (1 + sigmoid(P)), P)`` with ``P = self(x, None, boundaries)``
        (:func:`~stftbox.ops.glp_gate.gated_glp`; fewer
        full-size passes and saved tensors than pooling, mixing and gating
        one by one; written for CPU memory traffic). None when it does not
        apply (``kernel_size != 3``, ``count_include_pad``, a tensor not on
        the CPU, or the class attribute ``fused_gate`` False); the caller
        then pools and gates itself.

        Args:
            x (Tensor): ``[..., L, C]`` with no padded token.
            boundaries (Sequence[int] | None): segment starts.

        Returns:
            tuple | None: ``(gated [..., L, C], P [..., L, C])``, equal to
            ``x * (1 + sigmoid(P))`` and ``P = self(x, None, boundaries)``
            up to float32 rounding; or None.
        """
        if not self.fused_gate or self.kernel_size != 3 \
                or self.count_include_pad or x.device.type != 'cpu':
            return None
        w_max, w_avg = self.mix_weights()
        return gated_glp(x, w_max.to(x.dtype), w_avg.to(x.dtype),
                         boundaries)

    def pool(self, x: torch.Tensor,
             valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        if valid is None:
            p_max = self._max(x)
            p_avg = self._avg(x, self.count_include_pad)
        else:
            p_max = self._masked_max(x, valid)
            p_avg = self._masked_avg(x, valid)
        lam = self.mix.to(x.dtype)
        if self.form == 'convex':  # lam P_max + (1 - lam) P_avg
            return mix_poolings(p_avg, p_max, lam)
        # (0.5 + lam) P_max + (1.5 - lam) P_avg
        #   = 2 * lerp(P_avg, P_max, (0.5 + lam) / 2)
        return mix_poolings(p_avg, p_max, 0.25 + 0.5 * lam, 2.0)

    def extra_repr(self) -> str:
        return (f'kernel_size={self.kernel_size}, form={self.form}, '
                f'mix_activation={self.mix_activation}')
