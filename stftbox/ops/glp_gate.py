"""GLP and its residual sigmoid gate as one operation (window 3, no padding).

STFT's spiking blocks shape the neuron input ``x`` with the global-local
pooling ``P = w_max P_max + w_avg P_avg`` and the residual gate ``y = x (1 +
sigmoid(P))`` (docs/method.md, GLP [A]/[S]). Written with ``F.max_pool2d``,
``F.avg_pool2d``, a mix and a gate, the forward pass makes about ten
full-size passes plus the recomputed columns next to the segment boundaries,
and keeps an int64 index tensor, both poolings and the gate factors for the
backward pass. :class:`GatedGLPFunction` computes the same values from
shifted views of ``x``, each segment (e.g. audio, video) on its own so that
the windows are clipped at its edges without any correction, and writes a
hand-derived backward pass.
"""
from typing import Optional, Sequence

import torch
from torch.autograd.function import once_differentiable

from stftbox.ops.row_chunks import row_chunks

__all__ = ['GatedGLPFunction', 'gated_glp']


def _segments(length: int, boundaries) -> tuple:
    edges = sorted(set(int(b) for b in (boundaries or ())))
    if edges and (edges[0] <= 0 or edges[-1] >= length):
        raise ValueError(f'boundaries must lie in (0, L = {length}), got '
                         f'{list(boundaries)}')
    starts = [0] + edges
    return tuple(zip(starts, edges + [length]))


class GatedGLPFunction(torch.autograd.Function):
    r"""``(x (1 + sigmoid(P)), P)`` with ``P = a\,\mathrm{max}_3(x) +
    b\,\mathrm{avg}_3(x)`` along the tokens, forward and backward by hand.

    Windows of 3 tokens (stride 1) clipped at the sequence ends and at the
    segment edges; the average divides by the tokens inside the window (as
    ``count_include_pad=False``). The max of a window is formed from the
    maxima of its two token pairs; its gradient goes to the first maximal
    token of the window (as ``F.max_pool1d``), found again from two saved
    comparisons (float 0/1).

    Inputs (``apply`` order): ``x [N, L, C]`` (contiguous), ``a``, ``b``
    (0-d tensors: the max and average weights), ``segments`` (tuple of
    ``(start, end)`` covering ``[0, L)``) and optional ``grad_enabled``
    (pass ``torch.is_grad_enabled()``: False skips the comparisons and
    saves nothing; inside a ``Function`` grad mode is always off).
    Outputs: ``y [N, L, C]`` and
    ``P [N, L, C]``. Gradients for ``x``, ``a``, ``b`` (first order only).
    """

    @staticmethod
    def forward(ctx, x, a, b, segments, grad_enabled=True):
        num, length, chans = x.shape
        # the argmax comparisons are for the backward pass only
        masks = bool(grad_enabled) and any(ctx.needs_input_grad[:3])
        wmax = float(a)
        inv_count = _inverse_counts(length, segments, x)       # [L, 1]
        coef = inv_count * b.to(x.dtype)
        y, p = torch.empty_like(x), torch.empty_like(x)
        saved = ([torch.empty_like(x) for _ in range(5)] if masks else None)
        for c0, c1 in row_chunks(num, length * chans, CHUNK_ELEMENTS):
            xc = x[c0:c1]
            if masks:   # window maxima / sums, sigmoid(P), float 0/1 masks
                pmax, psum, sig, right_pair, right_tok = (
                    t[c0:c1] for t in saved)
            else:
                pmax, psum = torch.empty_like(xc), torch.empty_like(xc)
                sig, right_pair, right_tok = torch.empty_like(xc), None, None
            _pool_rows(xc, segments, pmax, psum, right_pair, right_tok)
            pc = torch.mul(psum, coef, out=p[c0:c1])
            pc.add_(pmax, alpha=wmax)
            torch.sigmoid(pc, out=sig)
            torch.addcmul(xc, xc, sig, out=y[c0:c1])
        ctx.segments = segments
        if masks:
            ctx.save_for_backward(x, a, b, *saved, inv_count)
        ctx.set_materialize_grads(False)
        return y, p

    @staticmethod
    @once_differentiable
    def backward(ctx, gy, gp):
        (x, a, b, pmax, psum, sig, right_pair, right_tok,
         inv_count) = ctx.saved_tensors
        if gy is None and gp is None:
            return None, None, None, None, None
        wmax, wavg = float(a), float(b)
        need_gx, need_ga, need_gb = ctx.needs_input_grad[:3]
        gx = torch.empty_like(x) if need_gx else None
        ga = x.new_zeros(()) if need_ga else None
        gb = x.new_zeros(()) if need_gb else None
        num, length, chans = x.shape
        for c0, c1 in row_chunks(num, length * chans, CHUNK_ELEMENTS):
            xc, sc = x[c0:c1], sig[c0:c1]
            # dL/dP: the cue's gradient plus the gate's, x sigmoid'(P) gy
            if gy is not None:
                gyc = gy[c0:c1]
                gpt = torch.rsub(sc, 1.0).mul_(sc).mul_(xc).mul_(gyc)
                if gp is not None:
                    gpt.add_(gp[c0:c1])
            else:
                gpt = gp[c0:c1].clone()
            if need_ga:
                ga += torch.linalg.vecdot(gpt, pmax[c0:c1]).sum()
            gmean = torch.mul(gpt, inv_count)     # dL/d(window mean)
            if need_gb:
                gb += torch.linalg.vecdot(gmean, psum[c0:c1]).sum()
            if not need_gx:
                continue
            gxc = gx[c0:c1]
            if gy is not None:
                torch.addcmul(gyc, gyc, sc, out=gxc)
            else:
                gxc.zero_()
            _route_rows(gxc, gpt, gmean, right_pair[c0:c1],
                        right_tok[c0:c1], ctx.segments, wmax, wavg)
        return gx, ga, gb, None, None


#: elements per row chunk: the ~10 element-wise passes of each direction
#: run chunk by chunk so that their operands stay in the CPU caches (about
#: 1.8x faster than whole-tensor passes at [640, 26, 512] on 2 cores)
CHUNK_ELEMENTS = 1 << 19


def _inverse_counts(length: int, segments, like: torch.Tensor):
    """``1 / (tokens of each clipped window)`` ``[L, 1]``."""
    count = []
    for s, e in segments:
        n = e - s
        count += [1.0] if n == 1 else [2.0] + [3.0] * (n - 2) + [2.0]
    return like.new_tensor(count).reciprocal_().unsqueeze(-1)


def _pool_rows(x, segments, pmax, psum, right_pair, right_tok) -> None:
    """Window maxima and sums of ``x [n, L, C]`` into ``pmax`` / ``psum``
    (and the argmax masks when given), per segment."""
    tmp = torch.empty_like(x)      # pair maxima, then pair sums
    for s, e in segments:
        n, xs = e - s, x[:, s:e]
        if n == 1:
            pmax[:, s] = x[:, s]
            psum[:, s] = x[:, s]
            continue
        # pair k = tokens (k, k + 1); right_tok: the right one is larger
        pm = torch.maximum(xs[:, :-1], xs[:, 1:], out=tmp[:, s:e - 1])
        if right_tok is not None:
            torch.gt(xs[:, 1:], xs[:, :-1], out=right_tok[:, s:e - 1])
        pmax[:, s] = pm[:, 0]
        pmax[:, e - 1] = pm[:, n - 2]
        if n > 2:   # window j = pairs (j - 1, j); right_pair: pair j
            torch.maximum(pm[:, :-1], pm[:, 1:], out=pmax[:, s + 1:e - 1])
            if right_pair is not None:
                torch.gt(pm[:, 1:], pm[:, :-1],
                         out=right_pair[:, s + 1:e - 1])
        ps = torch.add(xs[:, :-1], xs[:, 1:], out=tmp[:, s:e - 1])
        psum[:, s] = ps[:, 0]
        psum[:, e - 1] = ps[:, n - 2]
        if n > 2:
            torch.add(ps[:, :-1], xs[:, 2:], out=psum[:, s + 1:e - 1])


def _route_rows(gx, gpt, gmean, right_pair, right_tok, segments, wmax,
                wavg) -> None:
    """Add the pooling gradients of ``dL/dP`` (``gpt``) to ``gx``: the
    average's (``gmean = gpt / count``) to every token of each window, the
    max's to the window's first maximal token."""
    gpair = torch.empty_like(gx)
    for s, e in segments:
        n = e - s
        # average: every token gets the mean gradient of the windows it is
        # in (the same clipped windows, by symmetry)
        g, out = gmean[:, s:e], gx[:, s:e]
        out.add_(g, alpha=wavg)
        if n == 1:
            gx[:, s].add_(gpt[:, s], alpha=wmax)
            continue
        out[:, 1:].add_(g[:, :-1], alpha=wavg)
        out[:, :-1].add_(g[:, 1:], alpha=wavg)
        # max: window -> its pair -> the pair's first maximal token
        gq = gpair[:, s:e - 1]
        if n == 2:
            torch.add(gpt[:, s], gpt[:, s + 1], out=gq[:, 0])
        else:
            gi = gpt[:, s + 1:e - 1]
            to_right = torch.mul(gi, right_pair[:, s + 1:e - 1])
            torch.sub(gi, to_right, out=gq[:, :-1])
            gq[:, -1] = 0.0
            gq[:, 1:].add_(to_right)
            gq[:, 0].add_(gpt[:, s])
            gq[:, -1].add_(gpt[:, e - 1])
        to_right = torch.mul(gq, right_tok[:, s:e - 1])
        gq.sub_(to_right)
        gx[:, s:e - 1].add_(gq, alpha=wmax)
        gx[:, s + 1:e].add_(to_right, alpha=wmax)


def gated_glp(x: torch.Tensor, max_weight: torch.Tensor,
              avg_weight: torch.Tensor,
              boundaries: Optional[Sequence[int]] = None) -> tuple:
    """GLP with window 3 and the residual sigmoid gate, fused.

    Args:
        x (Tensor): ``[..., L, C]`` unpadded tokens (the neuron input ``u``).
        max_weight, avg_weight (Tensor): 0-d weights ``w_max``, ``w_avg`` of
            the two poolings (e.g. ``0.5 + beta``, ``1.5 - beta`` for STFT's
            ``form='paper'``), gradients flow to them.
        boundaries (Sequence[int] | None): token indices ``0 < b < L`` where
            a new segment starts (windows are clipped there as at the
            sequence ends).

    Returns:
        tuple: ``y = x (1 + sigmoid(P))`` and ``P = w_max max_3(x) + w_avg
        avg_3(x)``, both ``[..., L, C]``; the values (and gradients, up to
        float rounding) of ``GlobalLocalPooling(kernel_size=3)`` followed by
        the ``'residual_gate'`` modulation.

    Raises:
        ValueError: ``x`` with fewer than 2 dims or a boundary outside
            ``(0, L)``.
    """
    if x.dim() < 2:
        raise ValueError(f'expected x of shape [..., L, C], got '
                         f'{tuple(x.shape)}')
    shape = x.shape
    segments = _segments(shape[-2], boundaries)
    flat = x.reshape(-1, shape[-2], shape[-1]).contiguous()
    y, p = GatedGLPFunction.apply(flat, max_weight, avg_weight, segments,
                                  torch.is_grad_enabled())
    return y.reshape(shape), p.reshape(shape)
