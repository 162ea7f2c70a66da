"""The fused GLP + residual gate op equals pooling, mixing and gating one by
one: values, gradients (input and mix), tie-breaking, segments."""
import pytest
import torch

import stftbox.models  # noqa: F401
from stftbox.models.backbones.snn_branch import SpikingBlock
from stftbox.models.poolings import GlobalLocalPooling
from stftbox.ops.glp_gate import GatedGLPFunction, gated_glp
from stftbox.ops.row_chunks import row_chunks


def _reference(pool, x, boundaries):
    p = pool(x, None, boundaries=boundaries) if boundaries else pool(x, None)
    return x * (1.0 + torch.sigmoid(p)), p


CASES = [(7, (3, )), (26, (10, )), (6, (1, 3)), (5, ()), (4, (2, 3)),
         (1, ()), (2, (1, ))]


@pytest.mark.parametrize('length,boundaries', CASES)
@pytest.mark.parametrize('ties', [False, True])
@pytest.mark.parametrize('form', ['paper', 'convex'])
def test_equals_pool_then_gate(length, boundaries, ties, form):
    """Integer inputs make ties (equal maxima) common: the gradient goes
    to the first maximal token, as F.max_pool1d's."""
    g = torch.Generator().manual_seed(length)
    x = torch.randn(3, 2, length, 5, generator=g)
    if ties:
        x = torch.randint(-2, 3, x.shape, generator=g).float()
    gy, gp = torch.randn_like(x), torch.randn_like(x)
    results = []
    for fused in (True, False):
        pool = GlobalLocalPooling(3, init_mix=0.3, form=form)
        xr = x.clone().requires_grad_()
        if fused:
            w_max, w_avg = pool.mix_weights()
            y, p = gated_glp(xr, w_max, w_avg, boundaries)
        else:
            y, p = _reference(pool, xr, boundaries)
        ((y * gy).sum() + (p * gp).sum()).backward()
        results.append((y.detach(), p.detach(), xr.grad, pool.beta.grad))
    for f, r in zip(*results):
        torch.testing.assert_close(f, r, rtol=1e-5, atol=2e-6)


def test_hand_computed_window():
    # one sequence [1, 3, 2], one channel; P = 1.5 max + 0.5 mean (beta = 1)
    x = torch.tensor([[[1.0], [3.0], [2.0]]])
    y, p = gated_glp(x, torch.tensor(1.5), torch.tensor(0.5))
    expect = torch.tensor([1.5 * 3 + 0.5 * 2, 1.5 * 3 + 0.5 * 2,
                           1.5 * 3 + 0.5 * 2.5]).reshape(1, 3, 1)
    torch.testing.assert_close(p, expect)
    torch.testing.assert_close(y, x * (1 + torch.sigmoid(expect)))
    # a boundary at 1: windows [1] | [3, 2] -> max 1 | 3, 3; mean 1 | 2.5
    _, p = gated_glp(x, torch.tensor(1.5), torch.tensor(0.5), (1, ))
    expect = torch.tensor([2.0, 1.5 * 3 + 1.25, 1.5 * 3 + 1.25])
    torch.testing.assert_close(p.flatten(), expect)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 3, generator=g, dtype=torch.double)
    x.requires_grad_()
    a = torch.tensor(0.8, dtype=torch.double, requires_grad=True)
    b = torch.tensor(1.2, dtype=torch.double, requires_grad=True)
    segs = ((0, 3), (3, 7))
    assert torch.autograd.gradcheck(
        lambda x, a, b: GatedGLPFunction.apply(x, a, b, segs), (x, a, b))


def test_no_grad_gives_the_same_values():
    x = torch.randn(4, 9, 6)
    a, b = torch.tensor(0.7), torch.tensor(1.3)
    y1, p1 = gated_glp(x, a, b, (4, ))
    with torch.no_grad():
        y0, p0 = gated_glp(x, a, b, (4, ))
    assert torch.equal(y0, y1) and torch.equal(p0, p1)


def test_bad_input():
    with pytest.raises(ValueError, match=r'\[\.\.\., L, C\]'):
        gated_glp(torch.randn(5), torch.tensor(1.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match='boundaries must lie in'):
        gated_glp(torch.randn(2, 4, 3), torch.tensor(1.0), torch.tensor(1.0),
                  (4, ))


def test_pooling_falls_back_where_it_does_not_apply():
    x = torch.randn(2, 5, 4)
    assert GlobalLocalPooling(5).gated(x) is None
    assert GlobalLocalPooling(3, count_include_pad=True).gated(x) is None
    assert GlobalLocalPooling(3).gated(x) is not None


@pytest.mark.parametrize('boundaries', [None, (3, )])
def test_spiking_block_same_with_and_without_fusion(boundaries, monkeypatch):
    """The block's spikes and gradients do not depend on the fused path."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 7, 8, generator=g)
    import stftbox.models.poolings.token_poolings as tp
    calls = []

    def counting(*args):
        calls.append(1)
        return gated_glp(*args)

    monkeypatch.setattr(tp, 'gated_glp', counting)
    results = []
    for fused in (True, False):
        monkeypatch.setattr(GlobalLocalPooling, 'fused_gate', fused)
        torch.manual_seed(0)
        block = SpikingBlock(8, 8, neuron=dict(
            type='DynamicThresholdLIF', surrogate=dict(type='ATan')))
        xr = x.clone().requires_grad_()
        s = block(xr, None, time_steps=4, boundaries=boundaries)
        w = torch.randn(s.shape, generator=torch.Generator().manual_seed(2))
        (s * w).sum().backward()
        results.append((s.detach(), xr.grad,
                        block.pooling.beta.grad, block.proj.weight.grad))
        assert len(calls) == 1      # the fused run called the op, once
    assert set(results[0][0].unique().tolist()) <= {0.0, 1.0}
    for f, r in zip(*results):
        torch.testing.assert_close(f, r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('chunk', [7, 300])
def test_row_chunks_give_the_same_result(chunk, monkeypatch):
    """The op runs in row chunks (cache-sized): several chunks, including
    a last partial one, equal the reference."""
    import stftbox.ops.glp_gate as op
    monkeypatch.setattr(op, 'CHUNK_ELEMENTS', chunk)
    assert len(row_chunks(7 * 3, 6 * 5, op.CHUNK_ELEMENTS)) > 1
    g = torch.Generator().manual_seed(3)
    x = torch.randn(7, 3, 6, 5, generator=g)
    gy, gp = torch.randn_like(x), torch.randn_like(x)
    results = []
    for fused in (True, False):
        pool = GlobalLocalPooling(3, init_mix=0.6)
        xr = x.clone().requires_grad_()
        if fused:
            y, p = gated_glp(xr, *pool.mix_weights(), (2, ))
        else:
            y, p = _reference(pool, xr, (2, ))
        ((y * gy).sum() + (p * gp).sum()).backward()
        results.append((y.detach(), p.detach(), xr.grad, pool.beta.grad))
    for f, r in zip(*results):
        torch.testing.assert_close(f, r, rtol=1e-5, atol=2e-6)


def test_row_chunks_cover_the_rows_in_order():
    assert row_chunks(10, 4, 12) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert row_chunks(5, 100, 10) == [(i, i + 1) for i in range(5)]
    assert row_chunks(0, 4, 12) == []
