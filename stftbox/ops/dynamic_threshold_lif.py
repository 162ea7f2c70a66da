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
from torch.autograd.function import once_differentiable
from spikingjelly.activation_based import surrogate as sj_surrogate

from stftbox.ops.row_chunks import row_chunks

__all__ = ['DynamicThresholdLIFFunction', 'binary_entropy_bits',
           'surrogate_backward_args', 'tanh_mean']


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


class _TanhMean(torch.autograd.Function):
    """``tanh(x).mean(dim, keepdim=True)`` through ``tanh(x) = 2 sigmoid(2x)
    - 1`` (on CPU ``torch.sigmoid`` is about 5x faster than ``torch.tanh``;
    the two agree to float32 rounding); backward ``(g / n) (1 - tanh^2) =
    (4 g / n) s (1 - s)`` with the saved ``s = sigmoid(2x)``, the ``[..., n,
    ...]`` gradient of the mean never materialised. Over the last axis of a
    contiguous tensor the rows are processed in cache-sized chunks
    (``CHUNK_ELEMENTS``; same values)."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if not (dim in (-1, x.dim() - 1) and x.is_contiguous()):
            s = torch.mul(x, 2.0).sigmoid_()
            ctx.save_for_backward(s)
            return s.mean(dim, keepdim=True).mul_(2.0).sub_(1.0)
        chans = x.shape[-1]
        flat = x.reshape(-1, chans)
        s = torch.empty_like(flat)
        out = flat.new_empty((flat.shape[0], 1))
        for c0, c1 in row_chunks(flat.shape[0], chans, CHUNK_ELEMENTS):
            sc = torch.mul(flat[c0:c1], 2.0, out=s[c0:c1]).sigmoid_()
            torch.mean(sc, -1, keepdim=True, out=out[c0:c1])
        ctx.save_for_backward(s.reshape(x.shape))
        return out.mul_(2.0).sub_(1.0).reshape(*x.shape[:-1], 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        s, = ctx.saved_tensors
        dim = ctx.dim
        scale = grad * (4.0 / s.shape[dim])
        if dim not in (-1, s.dim() - 1):
            return torch.rsub(s, 1.0).mul_(s).mul_(scale.expand_as(s)), None
        chans = s.shape[-1]
        flat, scale = s.reshape(-1, chans), scale.reshape(-1, 1)
        gx = torch.empty_like(flat)
        for c0, c1 in row_chunks(flat.shape[0], chans, CHUNK_ELEMENTS):
            sc = flat[c0:c1]
            # 1 - s (exactly as rsub), then s (1 - s) g'
            torch.mul(sc, -1.0, out=gx[c0:c1]).add_(1.0).mul_(sc).mul_(
                scale[c0:c1])
        return gx.reshape(s.shape), None


def tanh_mean(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``tanh(x).mean(dim, keepdim=True)`` (the GLP cue of
    :class:`~stftbox.models.neurons.DynamicThresholdLIF`), the values and
    gradient of autograd through those two ops up to float32 rounding
    (computed as ``2 sigmoid(2x) - 1``, about 2x faster on CPU), one
    full-size tensor fewer in the backward pass.

    Args:
        x (Tensor): any shape.
        dim (int): the axis to average over.

    Returns:
        Tensor: shape of ``x`` with ``dim`` of size 1.
    """
    return _TanhMean.apply(x, dim)


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


_SJ_ATAN = sj_surrogate.ATan.backward
_SJ_SIGMOID = sj_surrogate.Sigmoid.backward


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
    ``t - 1``) and, optional, ``grad_enabled`` (default True; pass
    ``torch.is_grad_enabled()``: False keeps no ``H [T, N, C]`` for a
    backward pass that will not run, inside a ``Function`` the grad mode
    is always off).

    Implementation (CPU cost): all full-size work goes into preallocated
    ``[N, C]`` / ``[T, N, C]`` buffers with ``out=`` and in-place ops, and
    spikes and reset masks are float 0/1 tensors (``torch.ge(..., out=)``
    into the spike buffer; the hard reset is ``H - H S``, exact for 0/1
    ``S``): bool masks, ``masked_fill`` and bool -> float copies cost
    several float ops each. Forward: charge, compare, reset (and the
    channel mean) per step. Backward: for spikingjelly's ``ATan`` and
    ``Sigmoid`` the surrogate derivative is their own expression evaluated
    op for op in place (same values as calling ``backward``; other
    surrogates: their ``backward``), the fired mask is recomputed (one
    float compare) instead of saved, and the carry ``(1 - 1/tau) dL/dH``
    is folded into the scalar of ``addcmul`` / ``add``. Spikes,
    thresholds and ``v_T`` are bitwise those of the same loop written with
    bool masks and ``masked_fill``; gradients agree with autograd through
    the step-by-step reference up to float32 rounding
    (tests/test_models/test_neurons.py). A non-finite membrane potential
    becomes NaN at a hard reset (``inf * 0``, ``inf - inf``).

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
                v_reset, detach_reset, sg, v_min, span, eps, detach_cue,
                grad_enabled=True):
        # Every full-size ([N, C]) op writes into a preallocated buffer and
        # uses float 0/1 masks (bool masks, ``masked_fill`` and bool -> float
        # copies are several times slower on CPU than one float op):
        # per step one charge, one compare, one reset and, when recurrent,
        # one channel mean.
        recurrent = theta is None
        tx, num, chans = x.shape
        vr = 0.0 if v_reset is None else float(v_reset)
        # the charged potentials are kept for the backward pass only when
        # one will run (not under no_grad: one reused buffer instead)
        save = bool(grad_enabled) and any(ctx.needs_input_grad[:5])
        h_seq = x.new_empty((steps if save else 1, num, chans))
        s_seq = x.new_empty((steps, num, chans))
        th_seq = x.new_empty((steps, num, 1))
        v_buf = x.new_empty((num, chans))
        if recurrent:
            r_prev = x.new_empty((steps, num, 1))
            sig_seq = x.new_empty((steps, num, 1))
            ent_seq = x.new_empty((steps, num, 1))
            r_last = x.new_empty((num, 1))
        # with a reset value of 0 the charge v + (x - v) / tau is one lerp
        lerp = decay_input and vr == 0.0
        # neurons are independent: all T steps of one chunk of rows, then
        # the next chunk (its per-step buffers stay in the CPU caches)
        for c0, c1 in row_chunks(num, chans, CHUNK_ELEMENTS):
            v = v0[c0:c1].to(x.dtype)
            vb = v_buf[c0:c1]
            if recurrent:
                r = r0[c0:c1].to(x.dtype)
            for t in range(steps):
                xt = x[t if tx > 1 else 0, c0:c1]
                h = h_seq[t if save else 0, c0:c1]
                if lerp:
                    torch.lerp(v, xt, 1.0 / tau, out=h)
                elif decay_input:
                    torch.add(v, (xt - (v - vr)) / tau, out=h)
                else:
                    torch.add(v - (v - vr) / tau, xt, out=h)
                th = th_seq[t, c0:c1]
                if recurrent:
                    r_prev[t, c0:c1] = r
                    ent = ent_seq[t, c0:c1]
                    torch.div(torch.special.entr(r)
                              + torch.special.entr(1.0 - r),
                              math.log(2.0), out=ent)
                    sig = sig_seq[t, c0:c1]
                    torch.sigmoid(
                        a * ent + zs[t if zs.shape[0] > 1 else 0, c0:c1],
                        out=sig)
                    torch.mul(sig, span, out=th).add_(v_min)
                else:
                    th.copy_(theta[t if theta.shape[0] > 1 else 0, c0:c1])
                s = s_seq[t, c0:c1]
                torch.ge(h, th, out=s)                  # 0/1 in x's dtype
                # reset, exact for 0/1 spikes: soft h - s th; hard h - h s
                # (+ s v_r), i.e. v_r where fired, h elsewhere
                if v_reset is None:
                    torch.addcmul(h, s, th, value=-1.0, out=vb)
                else:
                    torch.addcmul(h, h, s, value=-1.0, out=vb)
                    if vr != 0.0:
                        vb.add_(s, alpha=vr)
                v = vb
                if recurrent:
                    r = s.mean(-1, keepdim=True)
            if recurrent:
                r_last[c0:c1] = r
        v = v_buf
        ctx.opts = (steps, tau, decay_input, v_reset, detach_reset, sg,
                    span, eps, detach_cue, tx, recurrent,
                    None if recurrent else theta.shape[0],
                    zs.shape[0] if recurrent else None)
        if save:
            if recurrent:
                ctx.save_for_backward(h_seq, th_seq, a, r_prev, sig_seq,
                                      ent_seq)
            else:
                ctx.save_for_backward(h_seq, th_seq)
        r_last = r_last if recurrent else None
        ctx.mark_non_differentiable(th_seq, v)
        return s_seq, th_seq, v, r_last

    @staticmethod
    def backward(ctx, g_spikes, g_theta_out, g_v, g_r):
        # Backward through time with the carry ``dL/dV_t = (1 - 1/tau)
        # dL/dH_{t+1}`` never materialised: ``gh_next = dL/dH_{t+1}`` is
        # kept (two alternating buffers) and the factor goes into the
        # scalar of ``addcmul`` / ``add``. Full-size work per step (hard
        # reset, ATan): H - theta and the surrogate derivative in place,
        # the spike gradient, one channel sum, the mask 1 - S (a float
        # compare, recomputed instead of saved), dL/dH and dL/dX.
        (steps, tau, decay_input, v_reset, detach_reset, (sg_fn, sg_args),
         span, eps, detach_cue, tx, recurrent, t_theta, t_zs) = ctx.opts
        if recurrent:
            h_seq, th_seq, a, r_prev, sig_seq, ent_seq = ctx.saved_tensors
        else:
            h_seq, th_seq = ctx.saved_tensors
        num, chans = h_seq.shape[1], h_seq.shape[2]
        decay = 1.0 - 1.0 / tau
        soft = v_reset is None
        vr = 0.0 if soft else float(v_reset)
        kind = _inplace_surrogate(sg_fn)
        need_gx, need_gv = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        shape = (num, chans)
        chunks = row_chunks(num, chans, CHUNK_ELEMENTS)
        rows = max(c1 - c0 for c0, c1 in chunks)
        # per-chunk work buffers (cache-sized, reused by every chunk)
        k_all = (h_seq.new_empty((rows, chans)),
                 h_seq.new_empty((rows, chans)))
        gs_all = (h_seq.new_empty((rows, chans)),
                  h_seq.new_empty((rows, chans)))
        mask_all = h_seq.new_empty((rows, chans))
        gx = h_seq.new_empty((tx,) + shape) if need_gx else None
        g_v0 = h_seq.new_empty(shape) if need_gv else None
        if recurrent:
            g_th = None
            w_seq = span * sig_seq * (1.0 - sig_seq)   # dtheta / dz
            slope = None if detach_cue else _entropy_slope(r_prev, eps)
            gz_seq = h_seq.new_empty((steps, num, 1))
            g_zs = gz_seq if t_zs > 1 else h_seq.new_zeros((1, num, 1))
            g_a = h_seq.new_zeros(())
        else:
            g_th, g_zs, g_a = h_seq.new_zeros((t_theta, num, 1)), None, None
        for c0, c1 in chunks:   # neurons are independent: chunk by chunk
            n = c1 - c0
            k_bufs = (k_all[0][:n], k_all[1][:n])
            gs_bufs = (gs_all[0][:n], gs_all[1][:n])
            mask = mask_all[:n]
            gh_next = None      # dL/dH_{t+1}
            g_rate = None       # dL/dr_t from theta_{t+1}
            for t in range(steps - 1, -1, -1):
                h, th = h_seq[t, c0:c1], th_seq[t, c0:c1]
                k_buf, gs_buf = k_bufs[t % 2], gs_bufs[t % 2]
                # dL/dS_t: output, threshold of step t + 1, reset path
                gs = g_spikes[t, c0:c1]
                if g_rate is not None:
                    gs = torch.add(gs, g_rate / chans, out=gs_buf)
                if gh_next is not None and not detach_reset:
                    if soft:                       # dV/dS = -theta
                        other = th
                    elif vr == 0.0:                # dV/dS = v_r - H = -H
                        other = h
                    else:
                        other = torch.sub(h, vr, out=mask)
                    gs = torch.addcmul(gs, gh_next, other, value=-decay,
                                       out=gs_buf)
                # dL/d(H - theta) through the surrogate
                if kind == 'atan':      # spikingjelly atan_backward, in place
                    half = sg_args[0] / 2
                    gsg = torch.sub(h, th, out=k_buf)
                    gsg.mul_(math.pi * half)
                    gsg.mul_(gsg).add_(1.0).reciprocal_()
                    if half != 1.0:          # alpha = 2: a multiplication by 1
                        gsg.mul_(half)
                    gsg.mul_(gs)
                elif kind == 'sigmoid':  # spikingjelly's sigmoid_backward
                    alpha = sg_args[0]
                    sgax = torch.sub(h, th, out=k_buf).mul_(alpha).sigmoid_()
                    one_minus = torch.mul(sgax, -1.0, out=mask).add_(1.0)
                    gsg = torch.mul(gs, one_minus, out=gs_buf)
                    gsg.mul_(sgax).mul_(alpha)
                else:
                    gsg = sg_fn(gs, torch.sub(h, th, out=k_buf), *sg_args)
                g_th_t = gsg.sum(-1, keepdim=True).neg_()
                # dL/dH_t = surrogate term + carry through the reset
                gh = gsg
                if gh_next is not None:
                    if soft:
                        fired = torch.ge(h, th, out=mask)
                        g_th_t.sub_(fired.mul_(gh_next).mul_(decay).sum(
                            -1, keepdim=True))
                        gh = (gsg.add_(gh_next, alpha=decay) if kind
                              else torch.add(gsg, gh_next, alpha=decay))
                    else:
                        keep = torch.lt(h, th, out=mask)       # 1 - S_t
                        gh = (gsg.addcmul_(gh_next, keep, value=decay) if kind
                              else torch.addcmul(gsg, gh_next, keep,
                                                 value=decay))
                if need_gx:
                    if tx > 1:
                        if decay_input:
                            torch.div(gh, tau, out=gx[t, c0:c1])
                        else:
                            gx[t, c0:c1].copy_(gh)
                    elif t == steps - 1:
                        gx[0, c0:c1].copy_(gh)
                    else:
                        gx[0, c0:c1].add_(gh)
                gh_next = gh
                if recurrent:
                    gz = torch.mul(g_th_t, w_seq[t, c0:c1],
                                   out=gz_seq[t, c0:c1])
                    if t_zs == 1:
                        g_zs[0, c0:c1] += gz
                    g_a += (gz * ent_seq[t, c0:c1]).sum()
                    g_rate = (gz * a * slope[t, c0:c1]
                              if slope is not None and t > 0 else None)
                elif t_theta > 1:
                    g_th[t, c0:c1] = g_th_t
                else:
                    g_th[0, c0:c1] += g_th_t
            if need_gv and gh_next is not None:
                torch.mul(gh_next, decay, out=g_v0[c0:c1])
        if need_gx and tx == 1 and decay_input:
            gx.div_(tau)     # sum_t gh_t / tau (exact for tau = 2)
        return (gx, g_v0, g_th, g_zs, g_a) + (None,) * 12


#: elements of one step's chunk of neurons (rows x channels): the
#: per-step buffers of a chunk stay in the CPU caches over all T steps
CHUNK_ELEMENTS = 1 << 19


def _inplace_surrogate(sg_fn) -> Optional[str]:
    """``'atan'`` / ``'sigmoid'`` when ``sg_fn`` is spikingjelly's
    ``ATan.backward`` / ``Sigmoid.backward`` (the kernel then evaluates the
    same expression, op for op, in its own buffers), else None (the
    surrogate's ``backward`` is called)."""
    if sg_fn is _SJ_ATAN:
        return 'atan'
    if sg_fn is _SJ_SIGMOID:
        return 'sigmoid'
    return None
