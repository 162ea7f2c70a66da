"""The hand-written backward passes of the pooling ops equal autograd's."""
import pytest
import torch

from stftbox.models.poolings.pooling_ops import mix_poolings, replace_columns


@pytest.mark.parametrize('scale', [1.0, 2.0])
def test_mix_poolings_equals_lerp(scale):
    g = torch.Generator().manual_seed(0)
    a, m = (torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64,
                        requires_grad=True) for _ in range(2))
    w = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    up = torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64)
    out = mix_poolings(a, m, w, scale)
    ref = scale * torch.lerp(a, m, w)
    assert torch.allclose(out, ref)
    grads = torch.autograd.grad((out * up).sum(), (a, m, w))
    refs = torch.autograd.grad((ref * up).sum(), (a, m, w))
    for got, want in zip(grads, refs):
        assert torch.allclose(got, want)
    # by hand: d/dw = scale * sum(up * (m - a))
    assert torch.allclose(grads[2], scale * (up * (m - a)).sum())


def test_replace_columns_equals_index_copy():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 7, 3, generator=g, dtype=torch.float64,
                    requires_grad=True)
    parts = torch.randn(2, 3, 3, generator=g, dtype=torch.float64,
                        requires_grad=True)
    cols = [2, 3, 6]          # runs (2, 3) and (6)
    up = torch.randn(2, 7, 3, generator=g, dtype=torch.float64)
    out = replace_columns(x * 1.0, parts, cols)
    ref = (x * 1.0).index_copy(-2, torch.tensor(cols), parts)
    assert torch.equal(out, ref)
    grads = torch.autograd.grad((out * up).sum(), (x, parts))
    refs = torch.autograd.grad((ref * up).sum(), (x, parts))
    for got, want in zip(grads, refs):
        assert torch.equal(got, want)
    assert torch.equal(grads[0][:, cols], torch.zeros(2, 3, 3,
                                                       dtype=torch.float64))
    with pytest.raises(ValueError, match='parts holds 3 columns'):
        replace_columns(x * 1.0, parts, [1, 2])
