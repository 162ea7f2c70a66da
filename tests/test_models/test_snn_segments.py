"""Windows within segments without gap tokens: the mask-free fast path
(``boundaries``) of the token poolings, the Conv1d and the SNN branch gives
the values and gradients of the gap-token / masked reference path."""
import itertools

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.models.backbones import snn_branch as snn_module
from stftbox.models.backbones.snn_branch import (SNNBranch,
                                                 _correct_conv_boundaries,
                                                 join_modalities,
                                                 segment_boundaries)
from stftbox.models.poolings import (AvgPooling, GlobalLocalPooling,
                                     MaxPooling)
from stftbox.models.poolings.token_poolings import segment_fixes

C, D, T, LA, LV = 6, 8, 4, 3, 5


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _per_segment(fn, x, bnd, mask=None):
    """``fn`` applied to every segment alone, concatenated along L."""
    edges = [0] + sorted(bnd) + [x.shape[-2]]
    outs = []
    for a, b in zip(edges[:-1], edges[1:]):
        outs.append(fn(x[..., a:b, :]) if mask is None else
                    fn(x[..., a:b, :], mask[..., a:b]))
    return torch.cat(outs, -2)


# ------------------------------------------------------------- poolings
@pytest.mark.parametrize('cls,k,cip', [
    (GlobalLocalPooling, 3, False), (GlobalLocalPooling, 5, True),
    (GlobalLocalPooling, 1, False), (MaxPooling, 3, False),
    (MaxPooling, 7, False), (AvgPooling, 3, False), (AvgPooling, 5, True)])
@pytest.mark.parametrize('bnd', [(4,), (1,), (2, 3), (1, 8), (3, 5, 6)])
def test_pooling_boundaries_equal_pooling_each_segment(cls, k, cip, bnd):
    pool = cls(kernel_size=k, count_include_pad=cip)
    if isinstance(pool, GlobalLocalPooling):
        pool.set_mix(0.3)
    x = torch.randn(3, 2, 9, 4, generator=_gen(0)).requires_grad_()
    g = torch.randn(3, 2, 9, 4, generator=_gen(1))
    out = pool(x, boundaries=bnd)
    ref = _per_segment(pool, x, bnd)
    assert torch.allclose(out, ref, atol=1e-6)
    params = [x] + list(pool.parameters())
    grads = torch.autograd.grad(out, params, g)
    grads_ref = torch.autograd.grad(ref, params, g)
    for a, b in zip(grads, grads_ref):
        assert torch.allclose(a, b, atol=1e-5)
    # with padding too: masked path, windows clipped at the boundaries
    mask = torch.zeros(2, 9, dtype=torch.bool)
    mask[1, 7:] = True
    masked = pool(x, mask, boundaries=bnd)
    ref = _per_segment(
        lambda t, m: pool(t, m) * (~m).unsqueeze(-1), x, bnd, mask)
    assert torch.allclose(masked, ref, atol=1e-6)


def test_max_pooling_ties_get_the_reference_gradient():
    """Ties (e.g. silent tokens) send the gradient to the first maximum, as
    F.max_pool1d does, on and next to the boundaries too."""
    pool = MaxPooling(kernel_size=3)
    x = torch.zeros(2, 7, 3).requires_grad_()
    g = torch.randn(2, 7, 3, generator=_gen(0))
    got, = torch.autograd.grad(pool(x, boundaries=(3,)), x, g)
    ref, = torch.autograd.grad(_per_segment(pool, x, (3,)), x, g)
    assert torch.equal(got, ref)


def test_segment_fixes():
    # one boundary, half-width 1: the last column of the first segment
    # from its last two tokens, the first column of the second segment
    assert segment_fixes(26, (10,), 1) == ((9, 10, 8, 10), (10, 11, 10, 12))
    assert segment_fixes(26, (10,), 0) == ()
    assert segment_fixes(26, None, 1) == ()
    # a segment shorter than the windows is recomputed whole
    assert segment_fixes(9, (4, 5), 2)[1] == (4, 5, 4, 5)
    with pytest.raises(ValueError, match='boundaries'):
        segment_fixes(9, (9,), 1)


# ---------------------------------------------------------------- conv
@pytest.mark.parametrize('k', [1, 3, 5])
@pytest.mark.parametrize('bnd', [(4,), (1, 2), (2, 7), (3, 5, 6)])
def test_conv_boundary_correction_equals_conv_of_each_segment(k, bnd):
    torch.manual_seed(0)
    conv = nn.Conv1d(4, 5, k, padding=k // 2)
    x = torch.randn(2, 3, 9, 4, generator=_gen(0)).requires_grad_()

    def run(t):  # [..., L, C] -> [..., L, D]
        y = conv(t.reshape(-1, *t.shape[-2:]).transpose(1, 2))
        return y.transpose(1, 2).reshape(*t.shape[:-1], -1)

    out = _correct_conv_boundaries(run(x), x, conv.weight, bnd, conv.bias)
    ref = _per_segment(run, x, bnd)
    assert torch.allclose(out, ref, atol=1e-5)
    g = torch.randn(out.shape, generator=_gen(1))
    params = [x, conv.weight, conv.bias]
    for a, b in zip(torch.autograd.grad(out, params, g),
                    torch.autograd.grad(ref, params, g)):
        assert torch.allclose(a, b, atol=1e-5)


# ---------------------------------------------------------- SNN branch
def test_segment_boundaries():
    mask = torch.zeros(2, LA + LV, dtype=torch.bool)
    _, m, seg = join_modalities(torch.zeros(2, LA, C), torch.zeros(2, LV, C),
                                mask[:, :LA], mask[:, LA:])
    assert segment_boundaries(seg, m) == (LA,)
    assert segment_boundaries(seg, None) == (LA,)
    assert segment_boundaries(torch.zeros_like(seg), None) == ()
    mask[1, -1] = True
    assert segment_boundaries(seg, mask) is None  # padded: gap tokens
    mixed = seg.clone()
    mixed[1] = torch.tensor([0, 1, 1, 1, 1, 1, 1, 0])
    assert segment_boundaries(mixed, None) is None


def _inputs(batch=3, seed=0):
    g = _gen(seed)
    audio = torch.randn(batch, LA, C, generator=g) * 2
    video = torch.randn(batch, LV, C, generator=g) * 2
    none = torch.zeros(batch, LA + LV, dtype=torch.bool)
    return join_modalities(audio, video, none[:, :LA], none[:, LA:])


def _run(branch, x, mask, seg, fast, monkeypatch):
    monkeypatch.setattr(SNNBranch, 'segment_fast_path', fast)
    branch.zero_grad()
    x = x.clone().requires_grad_()
    seen = []
    hook = branch.blocks[-1].register_forward_hook(
        lambda m, i, o: seen.append((o.detach(), i[1])))
    out = branch(x, mask, seg)
    hook.remove()
    (out['embedding'].square().sum() + out['step_outputs'].sum()).backward()
    spikes, valid = seen[0]
    if valid is not None:
        spikes = spikes[:, valid]                        # [T, B * L, D]
    else:
        spikes = spikes.flatten(1, 2)
    grads = [x.grad] + [p.grad.clone() for p in branch.parameters()]
    return out, spikes, grads


@pytest.mark.parametrize('kwargs', [
    dict(), dict(kernel_size=1), dict(pooling=None),
    dict(kernel_size=1, pooling=None),
    dict(pooling=dict(type='MaxPooling', kernel_size=5)),
    dict(pooling=dict(type='GlobalLocalPooling', form='convex',
                      mix_activation='clamp', count_include_pad=True)),
    dict(norm='BN'), dict(neuron=dict(type='LIFNode')),
    dict(layer_type='linear'), dict(memory_saving=True)])
def test_fast_segment_path_equals_gap_path(kwargs, monkeypatch):
    torch.manual_seed(0)
    branch = SNNBranch(C, D, time_steps=T, **kwargs).train()
    x, mask, seg = _inputs()
    fast, fast_spikes, fast_grads = _run(branch, x, mask, seg, True,
                                         monkeypatch)
    gap, gap_spikes, gap_grads = _run(branch, x, mask, seg, False,
                                      monkeypatch)
    assert torch.equal(fast_spikes, gap_spikes)
    for key in ('embedding', 'step_outputs'):
        assert torch.allclose(fast[key], gap[key], atol=1e-6)
    assert len(fast_grads) == len(gap_grads)
    for a, b in zip(fast_grads, gap_grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_fast_segment_path_uses_no_gaps_and_no_masks(monkeypatch):
    branch = SNNBranch(C, D, time_steps=T).eval()
    x, mask, seg = _inputs()
    ref = branch(x, mask, seg)
    calls = []
    from stftbox.models.poolings import BaseTokenPooling
    for name in ('_masked_max', '_masked_avg'):
        monkeypatch.setattr(BaseTokenPooling, name,
                            lambda *a, name=name: calls.append(name))
    monkeypatch.setattr(snn_module, 'insert_segment_gaps',
                        lambda *a: calls.append('gaps'))
    seen = []
    hook = branch.blocks[0].register_forward_hook(
        lambda m, i, o: seen.append((i[1], o.shape)))
    out = branch(x, mask, seg)
    hook.remove()
    assert calls == []
    assert seen[0][0] is None                    # valid: no mask at all
    assert seen[0][1][2] == LA + LV              # no gap tokens
    assert torch.equal(out['embedding'], ref['embedding'])


def test_padded_batch_still_takes_the_gap_path():
    """A padded clip keeps the gap-token path; its valid tokens give the
    unpadded clip's (fast path) output."""
    branch = SNNBranch(C, D, time_steps=T).eval()
    g = _gen(0)
    audio, video = torch.randn(2, LA, C, generator=g), torch.randn(
        2, LV, C, generator=g)
    am = torch.zeros(2, LA, dtype=torch.bool)
    vm = torch.zeros(2, LV, dtype=torch.bool)
    vm[1, -2:] = True
    out = branch(*join_modalities(audio, video, am, vm))
    alone = branch(*join_modalities(audio[1:], video[1:, :-2], am[1:],
                                    vm[1:, :-2]))
    assert torch.allclose(out['embedding'][1], alone['embedding'][0],
                          atol=1e-6)


def test_custom_pooling_without_boundaries_gets_the_gap_path():
    """A pooling with the plain ``forward(x, padding_mask)`` (as in
    docs/add_modules.md) still works: the branch inserts gap tokens."""
    from stftbox.models.poolings import BaseTokenPooling
    from stftbox.registry import POOLINGS

    @POOLINGS.register_module(force=True)
    class _PlainContrastPooling(BaseTokenPooling):

        def forward(self, x, padding_mask=None):
            return self.max_pool(x, padding_mask) - self.avg_pool(
                x, padding_mask)

    branch = SNNBranch(C, D, time_steps=T,
                       pooling=dict(type='_PlainContrastPooling')).eval()
    assert not branch.blocks[0].supports_boundaries
    x, mask, seg = _inputs()
    out = branch(x, mask, seg)
    assert out['embedding'].shape == (3, D)
    assert SNNBranch(C, D).blocks[0].supports_boundaries
