"""Two autograd ops of the token poolings with cheap backward passes.

Both compute what a plain torch expression computes, with the same values;
only their backward passes are written by hand, because autograd's are slow
on the ``[T, B, L, C]`` tensors of the SNN branch (measured at paper width,
``[10, 64, 26, 512]``, one training step of three blocks: ``torch.lerp``
with a 0-d tensor weight spends ~60 ms per call reducing the weight's
gradient; ``index_copy_`` ~35 ms per call in its backward).
"""
from typing import Sequence, Tuple

import torch

__all__ = ['mix_poolings', 'replace_columns']


class _MixPoolings(torch.autograd.Function):

    @staticmethod
    def forward(ctx, p_avg, p_max, weight, scale):
        out = torch.lerp(p_avg, p_max, weight)
        if scale != 1.0:
            out.mul_(scale)
        ctx.save_for_backward(p_avg, p_max, weight)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad):
        p_avg, p_max, weight = ctx.saved_tensors
        g = grad * ctx.scale if ctx.scale != 1.0 else grad
        g_max = g * weight
        g_avg = g - g_max
        g_w = None
        if ctx.needs_input_grad[2]:
            flat = g.reshape(-1)
            g_w = (torch.dot(flat, p_max.reshape(-1))
                   - torch.dot(flat, p_avg.reshape(-1))).reshape(
                       weight.shape)
        return g_avg, g_max, g_w, None


def mix_poolings(p_avg: torch.Tensor, p_max: torch.Tensor,
                 weight: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """``scale * lerp(p_avg, p_max, weight)`` =
    ``scale * ((1 - weight) p_avg + weight p_max)``, the GLP mix.

    Args:
        p_avg (Tensor): average pooling, any shape.
        p_max (Tensor): max pooling, the shape of ``p_avg``.
        weight (Tensor): 0-d mix weight (may require grad).
        scale (float): constant factor (2 for the paper form).

    Returns:
        Tensor: the shape of ``p_avg``; gradients to all three tensors (the
        weight's as two dot products, no broadcast tensor).
    """
    return _MixPoolings.apply(p_avg, p_max, weight, float(scale))


def _runs(cols: Sequence[int]) -> Tuple[Tuple[int, int, int], ...]:
    """``cols`` as consecutive runs ``(first column, length, offset)``."""
    runs, offset = [], 0
    for c in cols:
        if runs and runs[-1][0] + runs[-1][1] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1, offset])
        offset += 1
    return tuple(tuple(r) for r in runs)


class _ReplaceColumns(torch.autograd.Function):

    @staticmethod
    def forward(ctx, y, parts, runs):
        for col, n, off in runs:   # in place: y is the caller's own output
            y.narrow(-2, col, n).copy_(parts.narrow(-2, off, n))
        ctx.mark_dirty(y)
        ctx.runs = runs
        return y

    @staticmethod
    def backward(ctx, grad):
        g_y = grad.clone()
        for col, n, _ in ctx.runs:
            g_y.narrow(-2, col, n).zero_()
        g_parts = torch.cat([grad.narrow(-2, col, n)
                             for col, n, _ in ctx.runs], dim=-2)
        return g_y, g_parts, None


def replace_columns(y: torch.Tensor, parts: torch.Tensor,
                    cols: Sequence[int]) -> torch.Tensor:
    """``y [..., L, C]`` with its token columns ``cols`` replaced, in place,
    by ``parts [..., len(cols), C]`` (as ``y.index_copy_(-2, cols,
    parts)``), with a backward pass of one copy and a few slice fills.
    ``y`` must be a fresh result that no autograd node saved (autograd
    raises otherwise) and not a leaf that requires grad.

    Raises:
        ValueError: ``parts`` does not hold ``len(cols)`` columns.
    """
    if parts.shape[-2] != len(cols):
        raise ValueError(f'parts holds {parts.shape[-2]} columns, cols '
                         f'{len(cols)}')
    return _ReplaceColumns.apply(y, parts, _runs(cols))
