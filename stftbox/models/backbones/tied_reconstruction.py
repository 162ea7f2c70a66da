"""Input reconstruction loss of a tied decoder, without the decoded tensor.

With a decoder tied to the encoder's first linear layer (``fc``: ``o = x
W^T + b_e``, decoder ``x_hat = a W + b``), the masked squared error of the
reconstruction expands (per valid step ``n``, ``y_n = x_n - b``) into

.. math::
    \\|a_n W + b - x_n\\|^2 = a_n (W W^T) a_n^T - 2 a_n \\cdot (o_n - b_e)
    + 2 a_n \\cdot (W b) + \\|b\\|^2 - 2 b \\cdot x_n + \\|x_n\\|^2

where ``o_n - b_e = W x_n^T`` is the encoder's own linear output. Only the
``d x d`` Gram matrix ``W W^T`` is new work: no ``[N, D]`` decoded tensor,
squared error or their gradients are formed (at the video width ``D =
4096``, ``d = 512``, 1024 steps: 2.7 G instead of 6.3 G multiply-adds for
forward + backward, and no 16 MB temporaries). Same value and gradients as
decoding and taking :func:`~stftbox.models.backbones.two_stream.masked_mse`
(up to float32 rounding; tests/test_models/test_tied_reconstruction.py).
"""
from typing import Optional

import torch

__all__ = ['tied_reconstruction_mse', 'GramQuadratic']


class GramQuadratic(torch.autograd.Function):
    """``q = sum_n k_n a_n (W W^T) a_n^T``, forward and backward by hand.

    Inputs: ``a [N, d]``, ``k [N]`` (weights, no gradient), ``W [d, D]``.
    Output: 0-d ``q``. Backward: ``dq/da_n = 2 k_n a_n G`` and ``dq/dW =
    2 (a^T K a) W`` with ``G = W W^T``: one ``d x d x D`` product each way
    (autograd through ``W @ W.t()`` would take two in the backward pass).
    """

    @staticmethod
    def forward(ctx, a, k, weight):
        gram = weight @ weight.t()                       # [d, d]
        ag = a @ gram                                    # [N, d]
        q = torch.dot(torch.linalg.vecdot(ag, a), k)
        ctx.save_for_backward(a, k, weight, ag)
        return q

    @staticmethod
    def backward(ctx, gq):
        a, k, weight, ag = ctx.saved_tensors
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
    docstring).

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
            ``[d, D]``.
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
    a = encoded.reshape(-1, d)
    z = linear.reshape(-1, d)                    # = x W^T + b_e
    x = target.reshape(-1, dim).detach()
    if padding_mask is None:
        k = a.new_ones(a.shape[0])
    else:
        k = (~padding_mask.to(torch.bool)).reshape(-1).to(a.dtype)
    if encoder_bias is not None:
        z = z - encoder_bias
    count = k.sum()
    # a G a^T - 2 a . (W x) (+ 2 a . W b)
    total = GramQuadratic.apply(a, k, weight).double()
    total = total - 2.0 * torch.dot(torch.linalg.vecdot(a, z), k).double()
    with torch.no_grad():   # the target terms carry no gradient
        xx = torch.dot(torch.linalg.vector_norm(x, dim=-1).square(),
                       k).double()
        xk = k @ x                                           # [D]
    total = total + xx
    if decoder_bias is not None:
        ka = k @ a                                           # [d]
        total = total + (2.0 * torch.dot(ka, weight @ decoder_bias)
                         + count * decoder_bias.square().sum()
                         - 2.0 * torch.dot(decoder_bias, xk)).double()
    return (total / (count * dim).clamp(min=1.0)).to(a.dtype)
