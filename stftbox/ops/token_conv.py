"""Conv1d along the tokens of channels-last sequences ``[..., L, C]``.

The SNN branch keeps its tokens channels last (``[T, B, L, C]``): the
neurons, poolings and norms work per token and channel. ``nn.Conv1d`` wants
``[N, C, L]``.
"""
import torch
import torch.nn.functional as F

from .backend import check_backend, use_fused

__all__ = ['token_conv1d', 'token_conv1d_reference', 'supported_backends']

supported_backends = ('torch', 'fused')


def token_conv1d_reference(x: torch.Tensor, weight: torch.Tensor,
                           bias=None) -> torch.Tensor:
    """``F.conv1d`` with stride 1 and ``k // 2`` zero padding, on tokens:
    ``[..., L, C]`` -> transposed to ``[N, C, L]`` -> conv -> back.

    Args:
        x (Tensor): ``[..., L, C]``.
        weight (Tensor): ``[D, C, k]``, odd ``k``.
        bias (Tensor | None): ``[D]``.

    Returns:
        Tensor: ``[..., L, D]``.
    """
    lead, (length, chans) = x.shape[:-2], x.shape[-2:]
    y = F.conv1d(x.reshape(-1, length, chans).transpose(1, 2), weight, bias,
                 padding=weight.shape[-1] // 2)
    return y.transpose(1, 2).reshape(*lead, length, weight.shape[0])


def token_conv1d(x: torch.Tensor, weight: torch.Tensor, bias=None,
                 backend: str = 'auto') -> torch.Tensor:
    """Conv1d along the tokens (stride 1, ``k // 2`` zero padding).

    Args:
        x (Tensor): ``[..., L, C]`` channels-last tokens.
        weight (Tensor): ``[D, C, k]`` (``nn.Conv1d`` layout), odd ``k``.
        bias (Tensor | None): ``[D]``.
        backend (str): ``'torch'`` (:func:`token_conv1d_reference`),
            ``'fused'`` (kernel 1 only: one matrix product ``F.linear`` on
            the channels-last tokens, no transposes) or ``'auto'`` (fused
            for kernel 1, the reference otherwise; a GEMM over all taps with
            shifted sums did not pay for kernel 3, docs/method.md).

    Returns:
        Tensor: ``[..., L, D]``, equal to the reference up to float
        rounding (values and gradients).

    Raises:
        ValueError: an even kernel, a width mismatch or an unknown backend.
    """
    check_backend(backend, supported_backends, 'token_conv1d backend')
    if weight.shape[-1] % 2 == 0 or weight.shape[1] != x.shape[-1]:
        raise ValueError(f'token_conv1d: weight [D, {x.shape[-1]}, odd k] '
                         f'expected, got {tuple(weight.shape)}')
    if use_fused(backend, weight.shape[-1] == 1, 'token_conv1d'):
        return F.linear(x, weight[:, :, 0], bias)
    return token_conv1d_reference(x, weight, bias)
