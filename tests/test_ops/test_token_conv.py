"""Conv1d on channels-last tokens: every backend equals nn.Conv1d on the
transposed tokens (values and gradients)."""
import pytest
import torch

from stftbox.ops.backend import use_fused
from stftbox.ops.token_conv import (supported_backends, token_conv1d,
                                    token_conv1d_reference)


@pytest.mark.parametrize('kernel', [1, 3, 5])
@pytest.mark.parametrize('backend', ['auto', 'torch', 'fused'])
def test_backends_equal_conv1d(kernel, backend):
    g = torch.Generator().manual_seed(kernel)
    conv = torch.nn.Conv1d(4, 6, kernel, padding=kernel // 2)
    x = torch.randn(2, 3, 7, 4, generator=g, requires_grad=True)
    if backend == 'fused' and kernel > 1:
        with pytest.raises(NotImplementedError, match='fused'):
            token_conv1d(x, conv.weight, conv.bias, backend)
        return
    y = token_conv1d(x, conv.weight, conv.bias, backend)
    ref = conv(x.reshape(6, 7, 4).transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(y, ref.reshape(2, 3, 7, 6))
    gy = torch.randn(y.shape, generator=g)
    grads = torch.autograd.grad(y, (x, conv.weight, conv.bias), gy)
    refs = torch.autograd.grad(ref.reshape(y.shape),
                               (x, conv.weight, conv.bias), gy)
    for a, b in zip(grads, refs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_hand_computed_kernel3():
    # one channel, weights (1, 2, 3), bias 0.5: y_j = x_{j-1} + 2 x_j +
    # 3 x_{j+1} + 0.5 with zeros beyond the ends
    x = torch.tensor([[[1.0], [2.0], [4.0]]])
    w = torch.tensor([[[1.0, 2.0, 3.0]]])
    y = token_conv1d_reference(x, w, torch.tensor([0.5]))
    assert y.flatten().tolist() == [2 + 6 + 0.5, 1 + 4 + 12 + 0.5,
                                    2 + 8 + 0.5]


def test_errors():
    assert supported_backends == ('torch', 'fused')
    with pytest.raises(ValueError, match='odd k'):
        token_conv1d(torch.randn(2, 3, 4), torch.randn(5, 4, 2))
    with pytest.raises(ValueError, match="backend must be 'auto'"):
        token_conv1d(torch.randn(2, 3, 4), torch.randn(5, 4, 1), None, 'cuda')
    assert use_fused('auto', False) is False
    assert use_fused('torch', True) is False
