"""GLP + residual gate op: the fused kernel equals the plain-torch reference
(values, gradients of input and mix, tie-breaking), and both equal the
pooling module followed by the gate."""
import pytest
import torch

import stftbox.models  # noqa: F401
from stftbox.models.backbones.snn_branch import SpikingBlock
from stftbox.models.poolings import GlobalLocalPooling
from stftbox.ops.glp_gate import (GatedGLPFunction, gated_glp, glp_gate,
                                  glp_gate_reference, supported_backends)
from stftbox.ops.row_chunks import row_chunks


def _module_reference(pool, x):
    p = pool(x, None)
    return x * (1.0 + torch.sigmoid(p)), p


@pytest.mark.parametrize('length', [7, 26, 6, 1, 2])
@pytest.mark.parametrize('ties', [False, True])
@pytest.mark.parametrize('form', ['paper', 'convex'])
def test_backends_agree(length, ties, form):
    """Integer inputs make ties (equal maxima) common: the gradient goes
    to the first maximal token, as F.max_pool1d's."""
    g = torch.Generator().manual_seed(length)
    x = torch.randn(3, 2, length, 5, generator=g)
    if ties:
        x = torch.randint(-2, 3, x.shape, generator=g).float()
    gy, gp = torch.randn_like(x), torch.randn_like(x)
    results = []
    for how in ('fused', 'torch', 'module'):
        pool = GlobalLocalPooling(3, init_mix=0.3, form=form)
        xr = x.clone().requires_grad_()
        if how == 'module':
            y, p = _module_reference(pool, xr)
        else:
            y, p = glp_gate(xr, *pool.mix_weights(), backend=how)
        ((y * gy).sum() + (p * gp).sum()).backward()
        results.append((y.detach(), p.detach(), xr.grad, pool.beta.grad))
    for other in results[1:]:
        for f, r in zip(results[0], other):
            torch.testing.assert_close(f, r, rtol=1e-5, atol=2e-6)


def test_hand_computed_window():
    # one sequence [1, 3, 2], one channel; P = 1.5 max + 0.5 mean (beta = 1)
    x = torch.tensor([[[1.0], [3.0], [2.0]]])
    expect = torch.tensor([1.5 * 3 + 0.5 * 2, 1.5 * 3 + 0.5 * 2,
                           1.5 * 3 + 0.5 * 2.5]).reshape(1, 3, 1)
    for backend in supported_backends:
        y, p = glp_gate(x, torch.tensor(1.5), torch.tensor(0.5), backend)
        torch.testing.assert_close(p, expect)
        torch.testing.assert_close(y, x * (1 + torch.sigmoid(expect)))


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 3, generator=g, dtype=torch.double)
    x.requires_grad_()
    a = torch.tensor(0.8, dtype=torch.double, requires_grad=True)
    b = torch.tensor(1.2, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, a, b: GatedGLPFunction.apply(x, a, b), (x, a, b))
    assert torch.autograd.gradcheck(glp_gate_reference, (x, a, b))


def test_no_grad_gives_the_same_values():
    x = torch.randn(4, 9, 6)
    a, b = torch.tensor(0.7), torch.tensor(1.3)
    y1, p1 = gated_glp(x, a, b)
    with torch.no_grad():
        y0, p0 = gated_glp(x, a, b)
    assert torch.equal(y0, y1) and torch.equal(p0, p1)


def test_bad_input():
    for backend in ('auto', 'torch', 'fused'):
        with pytest.raises(ValueError, match=r'\[\.\.\., L, C\]'):
            glp_gate(torch.randn(5), torch.tensor(1.0), torch.tensor(1.0),
                     backend)
    with pytest.raises(ValueError, match="backend must be 'auto' or one"):
        glp_gate(torch.randn(2, 4, 3), torch.tensor(1.0), torch.tensor(1.0),
                 'cupy')


def test_pooling_uses_the_op_only_where_it_applies(monkeypatch):
    import stftbox.models.poolings.token_poolings as tp
    calls = []
    monkeypatch.setattr(tp, 'glp_gate',
                        lambda *a: calls.append(1) or glp_gate(*a))
    x = torch.randn(2, 5, 4)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[1, 3:] = True
    for pool, m, mod, used in (
            (GlobalLocalPooling(3), None, 'residual_gate', 1),
            (GlobalLocalPooling(3), mask, 'residual_gate', 0),
            (GlobalLocalPooling(5), None, 'residual_gate', 0),
            (GlobalLocalPooling(3, count_include_pad=True), None,
             'residual_gate', 0),
            (GlobalLocalPooling(3), None, 'gate', 0)):
        calls.clear()
        y, p = pool.pool_and_modulate(x, m, mod)
        assert len(calls) == used
        torch.testing.assert_close(p, pool(x, m))


@pytest.mark.parametrize('kernel', [1, 3])
def test_spiking_block_same_for_every_backend(kernel):
    """A block's spikes and gradients do not depend on the backend."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 7, 8, generator=g)
    results = []
    for backend in ('auto' if kernel > 1 else 'fused', 'torch'):
        torch.manual_seed(0)
        block = SpikingBlock(8, 8, kernel_size=kernel, backend=backend,
                             neuron=dict(type='DynamicThresholdLIF',
                                         surrogate=dict(type='ATan')))
        assert block.neuron.backend == block.pooling.backend == backend
        xr = x.clone().requires_grad_()
        s = block(xr, None, time_steps=4)
        w = torch.randn(s.shape, generator=torch.Generator().manual_seed(2))
        (s * w).sum().backward()
        results.append((s.detach(), xr.grad,
                        block.pooling.beta.grad, block.proj.weight.grad))
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
    for backend in ('fused', 'torch'):
        pool = GlobalLocalPooling(3, init_mix=0.6)
        xr = x.clone().requires_grad_()
        y, p = glp_gate(xr, *pool.mix_weights(), backend=backend)
        ((y * gy).sum() + (p * gp).sum()).backward()
        results.append((y.detach(), p.detach(), xr.grad, pool.beta.grad))
    for f, r in zip(*results):
        torch.testing.assert_close(f, r, rtol=1e-5, atol=2e-6)


def test_row_chunks_cover_the_rows_in_order():
    assert row_chunks(10, 4, 12) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert row_chunks(5, 100, 10) == [(i, i + 1) for i in range(5)]
    assert row_chunks(0, 4, 12) == []
