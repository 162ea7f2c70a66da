"""Input reconstruction loss of a tied decoder, without the decoded tensor.

With a decoder tied to the encoder's first linear layer (``fc``: ``o = x
W^T + b_e``, decoder ``x_hat = a W + b``), the masked squared error of the
reconstruction expands (per valid step ``n``, ``y_n = x_n - b``) into

.. math::
    \\|a_n W - y_n\\|^2 = a_n (W W^T) a_n^T
    - 2 a_n \\cdot (o_n - b_e - W b) + \\|x_n - b\\|^2

where ``o_n - b_e = W x_n^T`` is the encoder's own linear output. Only the
``d x d`` Gram matrix ``W W^T`` is new matrix work: no ``[N, D]`` decoded
tensor, squared error or their gradients are formed (at the video width
``D = 4096``, ``d = 512``, 1024 steps: 2.7 G instead of 6.3 G
multiply-adds for forward + backward, and no 16 MB temporaries besides the
one exact pass for ``sum_n ||x_n - b||^2``). Same value and gradients as
decoding and taking :func:`~stftbox.models.backbones.two_stream.masked_mse`
up to rounding; the rounding error of the first two terms is about float32
``eps * sum ||a W||^2``, so it grows relative to the loss when the
reconstruction is nearly perfect (``MSE << ||x - b||^2 / D``)
(tests/test_models/test_tied_reconstruction.py).
"""
from typing import Optional

import torch
from torch.autograd.function import once_differentiable

__all__ = ['tied_reconstruction_mse', 'GramQuadratic']


class GramQuadratic(torch.autograd.Function):
    """``q = sum_n k_n a_n (W W^T) a_n^T``, forward and backward by hand.

    Inputs: ``a [N, d]``, ``k [N]`` (weights, no gradient), ``W [d, D]``.
    Output: 0-d ``q`` in float64 (the sum over ``n`` is taken in float64).
    Backward (first order only): ``dq/da_n = 2 k_n a_n G`` and ``dq/dW =
    2 (a^T K a) W`` with ``G = W W^T``: one ``d x d x D`` product each way
    (autograd through ``W @ W.t()`` would take two in the backward pass).
    """

    @staticmethod
    def forward(ctx, a, k, weight):
        gram = weight @ weight.t()                       # [d, d]
        ag = a @ gram                                    # [N, d]
        q = torch.dot(torch.linalg.vecdot(ag, a).double(), k.double())
        ctx.save_for_backward(a, k, weight, ag)
        return q

    @staticmethod
    @once_differentiable
    def backward(ctx, gq):
        a, k, weight, ag = ctx.saved_tensors
        gq = float(gq)
        ga = gw = None
        if ctx.needs_input_grad[0]:
            ga = ag * (2.0 * gq * k).unsqueeze(-1)
        if ctx.needs_input_grad[2]:
            c = (a * k.unsqueeze(-1)).t() @ a            # [d, d] = a^T K a
            gw = (c @ weight).mul_(2.0 * gq)
        return ga, None, gw


def tied_reconstruction_mse(encoded: torch.Tensor, linear: torch.Tensor,
                            target: torch.Tensor, weight: torch.Tensor,
                            encoder_bias: Optional[torch.Tensor],
                            decoder_bias: Optional[torch.Tensor],
                            padding_mask: Optional[torch.Tensor] = None
                            ) -> torch.Tensor:
    """Masked MSE of the tied reconstruction ``encoded W + b`` of
    ``target``, computed from the encoder's linear output (module
    docstring). Runs in float32 (float64 inputs: float64) with autocast
    off, whatever the input dtypes.

    Args:
        encoded (Tensor): ``[B, L, d]`` the encoder outputs ``a`` that are
            decoded.
        linear (Tensor): ``[B, L, d]`` the encoder's linear output ``o = x
            W^T + b_e`` of the same steps (with its autograd graph: the
            gradient reaches ``W`` and ``b_e`` through it).
        target (Tensor): ``[B, L, D]`` the input features ``x`` (no
            gradient is taken with respect to them).
        weight (Tensor): ``[d, D]`` the encoder weight ``W``.
        encoder_bias (Tensor | None): ``[d]`` ``b_e`` (None = 0).
        decoder_bias (Tensor | None): ``[D]`` ``b`` (None = 0).
        padding_mask (Tensor | None): ``[B, L]`` bool, True = padded step
            (ignored); None = all valid.

    Returns:
        Tensor: 0-d mean of ``(a W + b - x)^2`` over the valid ``(step,
        feature)`` pairs (squared feature units), 0 when nothing is valid;
        the value of ``masked_mse(F.linear(a, W.t(), b), x, padding_mask)``.

    Raises:
        ValueError: shapes that do not match ``[B, L, d]`` / ``[B, L, D]`` /
            ``[d, D]`` / a ``[B, L]`` mask.
    """
    d, dim = weight.shape
    lead = encoded.shape[:-1]
    if (encoded.shape[-1] != d or linear.shape != encoded.shape
            or target.shape != (*lead, dim)):
        raise ValueError(
            f'tied reconstruction needs encoded / linear [..., {d}] and '
            f'target [..., {dim}] over the same steps (weight [{d}, {dim}]); '
            f'got {tuple(encoded.shape)}, {tuple(linear.shape)}, '
            f'{tuple(target.shape)}')
    if padding_mask is not None and padding_mask.shape != lead:
        raise ValueError(f'padding_mask must be {tuple(lead)} (the steps of '
                         f'encoded), got {tuple(padding_mask.shape)}')
    ftype = (torch.float64 if encoded.dtype == torch.float64
             else torch.float32)

    def cast(t):
        return None if t is None else t.to(ftype)

    with torch.autocast(device_type=encoded.device.type, enabled=False):
        a = cast(encoded).reshape(-1, d)
        z = cast(linear).reshape(-1, d)                  # = x W^T + b_e
        x = target.detach().to(ftype).reshape(-1, dim)
        w, b = cast(weight), cast(decoder_bias)
        if padding_mask is None:
            k = a.new_ones(a.shape[0])
        else:
            k = (~padding_mask.to(torch.bool)).reshape(-1).to(ftype)
        if encoder_bias is not None:
            z = z - cast(encoder_bias)
        if b is not None:
            z = z - w @ b                                # W (x - b)
        # ||a W||^2 - 2 a . W (x - b)
        total = GramQuadratic.apply(a, k, w) - 2.0 * torch.dot(
            torch.linalg.vecdot(a, z).double(), k.double())
        # + ||x - b||^2: one exact pass (no cancellation against an offset
        # of the features); its gradient -2 sum_n k_n (x_n - b) is given to
        # b through a zero-valued term
        with torch.no_grad():
            y = x if b is None else x - b
            yy = torch.dot(torch.linalg.vector_norm(y, dim=-1).square()
                           .double(), k.double())
            gb = None if b is None else -2.0 * (k @ y)
        total = total + yy
        if gb is not None:
            total = total + torch.dot(gb, b - b.detach()).double()
        count = k.sum()
        return (total / (count * dim).clamp(min=1.0)).to(ftype)
