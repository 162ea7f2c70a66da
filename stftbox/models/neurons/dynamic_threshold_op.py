"""Fused multi-step kernel of the dynamic-threshold LIF neuron (CPU and GPU).

spikingjelly 2.0's fused LIF path (``functional.lif_multi_step``: a custom
autograd op whose forward loops over ``T`` without building a graph and
whose backward is written by hand) only takes a *scalar* ``v_threshold``.
STFT's threshold changes per step and per token and, with
``entropy_source='prev_output'`` (the default), depends on the previous
step's spikes, which spikingjelly cannot express. :class:`DynamicThresholdLIFFunction`
is the same construction for that threshold: the charge / fire / reset
equations are spikingjelly's (``functional.lif_charge``,
``functional.voltage_reset``), the surrogate derivative is the surrogate
class's own ``backward`` (e.g. ``surrogate.ATan.backward``), and only the
threshold map is ours (docs/method.md "Dynamic threshold" [A]/[S]/[I]).

Shapes (time-major, channels last, every other axis flattened into ``N``):
``x [Tx, N, C]`` with ``Tx`` in ``{1, T}`` (``Tx = 1``: the same input at
every step, as STFT's first block under direct encoding; the input is then
never expanded and its gradient is summed over steps inside the kernel).
"""
import inspect
import math
from typing import Optional

import torch

__all__ = ['DynamicThresholdLIFFunction', 'binary_entropy_bits',
           'surrogate_backward_args']


class _BinaryEntropyBits(torch.autograd.Function):
    """``H_b(p) = -(p log2 p + (1 - p) log2 (1 - p))`` with a bounded
    derivative: ``dH/dp = log2((1 - p) / p)`` evaluated at ``p`` clamped to
    ``[eps, 1 - eps]`` (the exact derivative is infinite at 0 and 1, where a
    silent or saturated token sits)."""

    @staticmethod
    def forward(ctx, p, eps):
        ctx.save_for_backward(p)
        ctx.eps = eps
        return (torch.special.entr(p) + torch.special.entr(1.0 - p)) \
            / math.log(2.0)

    @staticmethod
    def backward(ctx, grad):
        p, = ctx.saved_tensors
        return grad * _entropy_slope(p, ctx.eps), None


def _entropy_slope(p: torch.Tensor, eps: float) -> torch.Tensor:
    q = p.clamp(eps, 1.0 - eps)
    return torch.log2((1.0 - q) / q)


def binary_entropy_bits(p: torch.Tensor, eps: float) -> torch.Tensor:
    """Entropy of Bernoulli(``p``) in bits, in [0, 1], exact in the forward
    pass (0 at ``p`` in {0, 1}); its derivative is taken at ``p`` clamped to
    ``[eps, 1 - eps]`` so that it stays finite.

    Args:
        p (Tensor): probabilities in [0, 1], any shape.
        eps (float): clamp of the derivative, in (0, 0.5).

    Returns:
        Tensor: same shape as ``p``.
    """
    return _BinaryEntropyBits.apply(p, eps)


def surrogate_backward_args(surrogate) -> Optional[tuple]:
    """``(backward_fn, extra_args)`` when ``surrogate`` is a spikingjelly
    surrogate in spiking mode whose class defines the static
    ``backward(grad_output, x, *params)`` (``ATan``, ``Sigmoid``,
    ``PiecewiseQuadratic``, ``Erf``, ...), else None (the neuron then runs
    its autograd reference loop)."""
    cls = type(surrogate)
    fn = cls.__dict__.get('backward')
    if not isinstance(fn, staticmethod) or not getattr(surrogate, 'spiking',
                                                       False):
        return None
    names = list(inspect.signature(cls.backward).parameters)[2:]
    if not all(hasattr(surrogate, n) for n in names):
        return None
    return cls.backward, tuple(getattr(surrogate, n) for n in names)


class DynamicThresholdLIFFunction(torch.autograd.Function):
    r"""Multi-step LIF with a tensor threshold, forward and backward by hand.

    Per step ``t`` (spikingjelly's LIF, ``V_r`` = ``v_reset`` or 0 when
    soft):

    .. math::
        H_t = V_{t-1} + (X_t - (V_{t-1} - V_r)) / \tau \;\;
        (\text{or } V_{t-1} - (V_{t-1} - V_r)/\tau + X_t), \quad
        S_t = \Theta(H_t - \theta_t), \quad
        V_t = H_t - S_t \theta_t \;\text{(soft)} \;|\;
        S_t V_r + (1 - S_t) H_t \;\text{(hard)}

    Threshold, ``[N, 1]`` per step, one of two modes:

    * given (``theta`` not None): ``theta_t`` as passed (``[Tθ, N, 1]``,
      ``Tθ`` in {1, T}); its gradient is returned.
    * recurrent (``theta`` None): ``theta_t = v_min + span * sigmoid(a *
      E_t + zs_t)`` with ``E_t = H_b(r_{t-1})`` (bits) the entropy of the
      previous step's firing rate over channels ``r = mean_c S``
      (``r_{-1} = r0``); ``zs [Tz, N, 1]`` is the rest of the logit
      (GLP cue, bias, centre), ``a`` the 0-d entropy gain. Gradients flow to
      ``zs`` and ``a`` and, through the surrogate, from ``theta_t`` back to
      the spikes of step ``t - 1`` (derivative of ``H_b`` as in
      :func:`binary_entropy_bits`).

    Inputs (``apply`` order): ``x [Tx, N, C]``, ``v0 [N, C]``, ``theta`` or
    None, ``zs`` or None, ``a`` or None, ``r0 [N, 1]`` or None, then the
    Python options ``steps, tau, decay_input, v_reset (None = soft),
    detach_reset, sg (backward_fn, args), v_min, span, eps, detach_cue``
    (``detach_cue``: no gradient from ``theta_t`` to the spikes of step
    ``t - 1``).

    Returns:
        tuple: ``spikes [T, N, C]`` (dtype of ``x``, exactly 0/1),
        ``theta [T, N, 1]``, ``v_T [N, C]`` and ``r_T [N, 1]`` (the last
        three detached: thresholds are reported, states go to the neuron's
        memories; no gradient flows through the final state, which
        :class:`~stftbox.models.backbones.snn_branch.SNNBranch` resets at
        every forward).
    """

    @staticmethod
    def forward(ctx, x, v0, theta, zs, a, r0, steps, tau, decay_input,
                v_reset, detach_reset, sg, v_min, span, eps, detach_cue):
        recurrent = theta is None
        num, chans = x.shape[1], x.shape[2]
        vr = 0.0 if v_reset is None else float(v_reset)
        h_seq = x.new_empty((steps, num, chans))
        s_seq = x.new_empty((steps, num, chans))
        th_seq = x.new_empty((steps, num, 1))
        if recurrent:
            r_prev = x.new_empty((steps, num, 1))
            sig_seq = x.new_empty((steps, num, 1))
            r = r0.to(x.dtype)
        v = v0.to(x.dtype)
        # with a reset value of 0 the charge v + (x - v) / tau is one lerp
        lerp = decay_input and vr == 0.0
        for t in range(steps):
            xt = x[t if x.shape[0] > 1 else 0]
            h = h_seq[t]
            if lerp:
                torch.lerp(v, xt, 1.0 / tau, out=h)
            elif decay_input:
                torch.add(v, (xt - (v - vr)) / tau, out=h)
            else:
                torch.add(v - (v - vr) / tau, xt, out=h)
            if recurrent:
                r_prev[t] = r
                ent = (torch.special.entr(r) + torch.special.entr(1.0 - r)) \
                    / math.log(2.0)
                sig = torch.sigmoid(a * ent + zs[t if zs.shape[0] > 1 else 0])
                sig_seq[t] = sig
                th = v_min + span * sig
            else:
                th = theta[t if theta.shape[0] > 1 else 0]
            fired = h >= th
            s_seq[t] = fired
            if v_reset is None:
                v = h - s_seq[t] * th
            else:
                v = h.masked_fill(fired, vr)
            if recurrent:
                r = s_seq[t].mean(-1, keepdim=True)
            th_seq[t] = th
        ctx.opts = (steps, tau, decay_input, v_reset, detach_reset, sg,
                    span, eps, detach_cue, x.shape[0], recurrent,
                    None if recurrent else theta.shape[0],
                    zs.shape[0] if recurrent else None)
        if recurrent:
            ctx.save_for_backward(h_seq, th_seq, a, r_prev, sig_seq)
        else:
            ctx.save_for_backward(h_seq, th_seq)
        r_last = r.detach() if recurrent else None
        ctx.mark_non_differentiable(th_seq, v)
        return s_seq, th_seq, v, r_last

    @staticmethod
    def backward(ctx, g_spikes, g_theta_out, g_v, g_r):
        (steps, tau, decay_input, v_reset, detach_reset, (sg_fn, sg_args),
         span, eps, detach_cue, tx, recurrent, t_theta, t_zs) = ctx.opts
        if recurrent:
            h_seq, th_seq, a, r_prev, sig_seq = ctx.saved_tensors
        else:
            h_seq, th_seq = ctx.saved_tensors
        chans = h_seq.shape[2]
        gx = (h_seq.new_zeros(h_seq.shape[1:]).unsqueeze(0) if tx == 1
              else torch.empty_like(h_seq))
        g_th = None if recurrent else h_seq.new_zeros(
            (t_theta,) + th_seq.shape[1:])
        g_zs = h_seq.new_zeros((t_zs,) + th_seq.shape[1:]) if recurrent \
            else None
        g_a = h_seq.new_zeros(()) if recurrent else None
        carry = h_seq.new_zeros(h_seq.shape[1:])   # dL/dV_t from step t+1
        g_rate = None                              # dL/dr_t from theta_{t+1}
        vr = 0.0 if v_reset is None else float(v_reset)
        for t in range(steps - 1, -1, -1):
            h, th = h_seq[t], th_seq[t]
            fired = h >= th
            gs = g_spikes[t]
            if g_rate is not None:
                gs = gs + g_rate / chans
            if not detach_reset:  # reset path through the spike
                gs = gs + carry * (-th if v_reset is None else (vr - h))
            gsg = sg_fn(gs, h - th, *sg_args)      # dL/d(H - theta)
            g_th_t = -gsg.sum(-1, keepdim=True)
            if v_reset is None:
                g_th_t = g_th_t - carry.masked_fill(~fired, 0.0).sum(
                    -1, keepdim=True)
                gh = gsg + carry
            else:
                gh = gsg + carry.masked_fill(fired, 0.0)
            gxt = gh / tau if decay_input else gh
            if tx == 1:
                gx[0] += gxt
            else:
                gx[t] = gxt
            carry = gh * (1.0 - 1.0 / tau)
            if recurrent:
                sig, r = sig_seq[t], r_prev[t]
                gz = g_th_t * (span * sig * (1.0 - sig))
                g_zs[t if t_zs > 1 else 0] += gz
                ent = (torch.special.entr(r) + torch.special.entr(1.0 - r)) \
                    / math.log(2.0)
                g_a += (gz * ent).sum()
                if not detach_cue:
                    g_rate = gz * a * _entropy_slope(r, eps)
            else:
                g_th[t if t_theta > 1 else 0] += g_th_t
        g_v0 = carry
        return (gx, g_v0, g_th, g_zs, g_a) + (None,) * 11
