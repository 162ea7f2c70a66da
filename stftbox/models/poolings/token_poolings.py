"""Local poolings along the token (time) axis that shape the neuron input.

STFT's global-local pooling (GLP) [A] combines max pooling and average
pooling of the input to shape the membrane-potential input and reduce spike
noise. All poolings here share one interface:

``forward(x [..., L, C], padding_mask [..., L] bool | None) -> [..., L, C]``

a sliding window of ``kernel_size`` tokens (stride 1, ``kernel_size // 2``
padding) along ``L``, per channel, vectorised over every leading axis (e.g.
``T x B``), computed channels last (no transposes). Padded tokens
(``padding_mask`` True) never enter a window and their outputs are 0. How
the output modulates the neuron input (residual sigmoid gating ``x * (1 +
sigmoid(P))`` by default, [S]) is :meth:`BaseTokenPooling.pool_and_modulate`,
which the SNN block calls; a pooling registered by a plugin only needs
``forward``.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from stftbox.ops.backend import check_backend
from stftbox.ops.glp_gate import glp_gate
from stftbox.ops.glp_gate import supported_backends as _GLP_BACKENDS
from stftbox.registry import POOLINGS

__all__ = ['BaseTokenPooling', 'MaxPooling', 'AvgPooling',
           'GlobalLocalPooling', 'MODULATIONS', 'modulate']

#: how a pooling output ``P`` shapes the neuron input ``u``
MODULATIONS = ('residual_gate', 'gate', 'add', 'none')


def modulate(u: torch.Tensor, p: torch.Tensor, modulation: str):
    """``u (1 + sigmoid(P))`` (``'residual_gate'``, [S]), ``u sigmoid(P)``
    (``'gate'``), ``u + P`` (``'add'``) or ``u`` (``'none'``).

    Raises:
        ValueError: unknown ``modulation``.
    """
    if modulation == 'residual_gate':
        return u * (1.0 + torch.sigmoid(p))
    if modulation == 'gate':
        return u * torch.sigmoid(p)
    if modulation == 'add':
        return u + p
    if modulation == 'none':
        return u
    raise ValueError(f'modulation must be one of {MODULATIONS}, got '
                     f'{modulation!r}')


class BaseTokenPooling(BaseModule):
    """Base of the token poolings: checks shapes and implements masked
    max / average pooling along the token axis, channels last (no
    transposes: the ``[N, L, C]`` tokens are pooled as the channels-last
    image ``[N, C, 1, L]`` they already are in memory).

    Subclasses implement :meth:`pool` (the pooling of whole sequences,
    windows clipped at their ends); :meth:`forward` checks the padding
    mask.

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
        broadcastable to ``x.shape[:-1]``) or None -> ``[..., L, C]``.

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

    def max_pool(self, x: torch.Tensor,
                 padding_mask: Optional[torch.Tensor] = None
                 ) -> torch.Tensor:
        """Sliding max along ``L``; ``[..., L, C] -> [..., L, C]``. Without a
        mask it equals ``F.max_pool1d(x.transpose(-1, -2), k,
        1, k // 2)`` transposed back (same values, same gradient: the first
        maximum of a window gets it)."""
        valid = self._valid(x, padding_mask)
        return self._max(x) if valid is None else self._masked_max(x, valid)

    def avg_pool(self, x: torch.Tensor,
                 padding_mask: Optional[torch.Tensor] = None
                 ) -> torch.Tensor:
        """Sliding mean along ``L``; ``[..., L, C] -> [..., L, C]``. Without
        a mask it equals ``F.avg_pool1d(x.transpose(-1, -2),
        k, 1, k // 2, count_include_pad=self.count_include_pad)`` transposed
        back; padded tokens count as the sequence-end padding."""
        valid = self._valid(x, padding_mask)
        if valid is None:
            return self._avg(x, self.count_include_pad)
        return self._masked_avg(x, valid)

    def pool(self, x: torch.Tensor,
             valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The pooling of whole sequences: ``x [..., L, C]``, ``valid
        [..., L]`` bool (True = real token) or None -> ``[..., L, C]``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.pool(x, self._valid(x, padding_mask))

    def pool_and_modulate(self, u: torch.Tensor,
                          padding_mask: Optional[torch.Tensor],
                          modulation: str) -> tuple:
        """``(modulate(u, P, modulation), P)`` with ``P = self(u,
        padding_mask)`` (see :func:`modulate`); what the SNN block calls.
        A subclass may compute both at once (:class:`GlobalLocalPooling`)."""
        p = self(u, padding_mask)
        return modulate(u, p, modulation), p


@POOLINGS.register_module()
class MaxPooling(BaseTokenPooling):
    """Local max pooling along the token axis (GLP's "local" extreme).

    Args: see :class:`BaseTokenPooling`.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None -> ``[..., L, C]`` (see :class:`BaseTokenPooling`).
    """

    def pool(self, x, valid=None):
        return self._max(x) if valid is None else self._masked_max(x, valid)


@POOLINGS.register_module()
class AvgPooling(BaseTokenPooling):
    """Local average pooling along the token axis (GLP's smoothing part).

    Args: see :class:`BaseTokenPooling`.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None -> ``[..., L, C]`` (see :class:`BaseTokenPooling`).
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
    by ``mix_activation``: ``'sigmoid'`` (default, [I]: the sources squash
    ``P`` by a sigmoid for the gate; how ``beta`` stays in [0, 1] is not
    stated) ``beta = sigmoid(beta_raw)`` (smooth, ends only
    in the limit) or ``'clamp'`` ([I]) ``beta = clamp(beta_raw, 0, 1)`` (the
    ends are reachable exactly; no gradient once ``beta_raw`` leaves
    [0, 1]). How ``P`` then modulates the neuron input (residual sigmoid
    gate ``u (1 + sigmoid(P))``, [S]) is :meth:`pool_and_modulate`, which
    runs the op :func:`stftbox.ops.glp_gate.glp_gate` (``backend``) for
    window 3 without padding.

    Args:
        kernel_size (int): odd window length in tokens. Default 3 [I].
        init_mix (float): initial ``beta`` in [0, 1] (in (0, 1) for
            ``'sigmoid'``). Default 0.5 [I].
        form (str): ``'paper'`` (default [S]) or ``'convex'`` [I].
        mix_activation (str): ``'sigmoid'`` (default [I]) or ``'clamp'``
            [I].
        learnable (bool): ``beta`` is a parameter (else a buffer).
        count_include_pad (bool): see :class:`BaseTokenPooling`.
        backend (str): ``'auto'`` (default), ``'torch'`` or ``'fused'``:
            the GLP + residual gate op (:func:`stftbox.ops.glp_gate.
            glp_gate`; ``supported_backends``).
        init_cfg (dict | None): mmengine init config.

    Forward: ``x [..., L, C]``, ``padding_mask [..., L]`` bool (True =
    padded) or None -> ``P [..., L, C]`` (same unit as ``x``).

    Raises:
        ValueError: bad ``form`` / ``mix_activation`` / ``init_mix`` /
            ``kernel_size``, or shape errors (see :class:`BaseTokenPooling`).
    """

    supported_backends = _GLP_BACKENDS

    def __init__(self, kernel_size: int = 3, init_mix: float = 0.5,
                 form: str = 'paper', mix_activation: str = 'sigmoid',
                 learnable: bool = True, count_include_pad: bool = False,
                 backend: str = 'auto', init_cfg: Optional[dict] = None):
        super().__init__(kernel_size, count_include_pad, init_cfg)
        self.backend = check_backend(backend, self.supported_backends,
                                     'GlobalLocalPooling backend')
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

    def pool_and_modulate(self, u: torch.Tensor,
                          padding_mask: Optional[torch.Tensor],
                          modulation: str) -> tuple:
        """``(modulate(u, P), P)``; window 3 with the residual gate and no
        padded token runs :func:`~stftbox.ops.glp_gate.glp_gate` (pooling,
        mix and gate in one op, ``self.backend``)."""
        if (modulation == 'residual_gate' and self.kernel_size == 3
                and not self.count_include_pad
                and self._valid(u, padding_mask) is None):
            w_max, w_avg = self.mix_weights()
            return glp_gate(u, w_max.to(u.dtype), w_avg.to(u.dtype),
                            self.backend)
        return super().pool_and_modulate(u, padding_mask, modulation)

    def pool(self, x: torch.Tensor,
             valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        if valid is None:
            p_max = self._max(x)
            p_avg = self._avg(x, self.count_include_pad)
        else:
            p_max = self._masked_max(x, valid)
            p_avg = self._masked_avg(x, valid)
        w_max, w_avg = self.mix_weights()
        return w_max.to(x.dtype) * p_max + w_avg.to(x.dtype) * p_avg

    def extra_repr(self) -> str:
        return (f'kernel_size={self.kernel_size}, form={self.form}, '
                f'mix_activation={self.mix_activation}, '
                f'backend={self.backend}')
