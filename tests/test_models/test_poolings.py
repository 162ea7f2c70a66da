"""Tests of the token poolings (GLP, max, avg) in stftbox.models.poolings."""
import pytest
import torch
import torch.nn.functional as F

from stftbox.models.poolings import (AvgPooling, GlobalLocalPooling,
                                     MaxPooling)
from stftbox.registry import MODELS, POOLINGS


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _ref(fn, x, k, **kwargs):
    """Apply a 1-d pooling along L of x [..., L, C] the textbook way."""
    lead, (length, chans) = x.shape[:-2], x.shape[-2:]
    y = fn(x.reshape(-1, length, chans).transpose(1, 2), k, 1, k // 2,
           **kwargs)
    return y.transpose(1, 2).reshape(*lead, length, chans)


@pytest.mark.parametrize('k', [1, 3, 5])
@pytest.mark.parametrize('mix_activation', ['clamp', 'sigmoid'])
@pytest.mark.parametrize('cip', [False, True])
def test_glp_ends_equal_max_and_avg_pooling(k, mix_activation, cip):
    glp = GlobalLocalPooling(kernel_size=k, mix_activation=mix_activation,
                             count_include_pad=cip, form='convex')
    x = _x(3, 2, 7, 4)
    glp.set_mix(1.0)
    assert glp.mix.item() == 1.0
    assert torch.equal(glp(x), _ref(F.max_pool1d, x, k))
    glp.set_mix(0.0)
    assert glp.mix.item() == 0.0
    assert torch.equal(glp(x), _ref(F.avg_pool1d, x, k,
                                    count_include_pad=cip))


@pytest.mark.parametrize('k', [1, 3, 5])
def test_glp_paper_form_ends_by_value(k):
    """[S] P = (P_max + P_avg) / 2 + beta P_max + (1 - beta) P_avg: at
    beta = 1 it is 1.5 P_max + 0.5 P_avg, at beta = 0 0.5 P_max + 1.5 P_avg
    (the weights always sum to 2)."""
    glp = GlobalLocalPooling(kernel_size=k)
    x = _x(3, 2, 7, 4)
    p_max = _ref(F.max_pool1d, x, k)
    p_avg = _ref(F.avg_pool1d, x, k, count_include_pad=False)
    glp.set_mix(1.0)
    assert glp.mix.item() == 1.0
    assert torch.allclose(glp(x), 1.5 * p_max + 0.5 * p_avg, atol=1e-6)
    glp.set_mix(0.0)
    assert glp.mix.item() == 0.0
    assert torch.allclose(glp(x), 0.5 * p_max + 1.5 * p_avg, atol=1e-6)
    # a constant input c gives 2 c (weights sum to 2), whatever beta
    glp.set_mix(0.3)
    const = torch.full((2, 5, 3), 0.7)
    assert torch.allclose(glp(const), torch.full_like(const, 1.4))


def test_glp_defaults_are_the_stated_design():
    """Defaults pinned by value: form 'paper' [S], sigmoid-squashed
    learnable beta [S] starting at 0.5 [I], window 3 [I]."""
    glp = POOLINGS.build(dict(type='GlobalLocalPooling'))
    assert glp.form == 'paper'
    assert glp.mix_activation == 'sigmoid'
    assert glp.kernel_size == 3
    assert isinstance(glp.beta, torch.nn.Parameter)
    assert glp.beta.item() == 0.0  # sigmoid(0) = 0.5
    assert glp.mix.item() == 0.5
    x = _x(2, 6, 5)
    p_max = _ref(F.max_pool1d, x, 3)
    p_avg = _ref(F.avg_pool1d, x, 3, count_include_pad=False)
    # beta = 0.5: (0.5 + 0.5) P_max + (1.5 - 0.5) P_avg
    assert torch.allclose(glp(x), p_max + p_avg, atol=1e-6)
    with torch.no_grad():
        glp.beta.fill_(2.0)
    b = torch.sigmoid(torch.tensor(2.0)).item()
    assert torch.allclose(glp(x), (0.5 + b) * p_max + (1.5 - b) * p_avg,
                          atol=1e-6)


def test_unpadded_mask_takes_the_unmasked_path(monkeypatch):
    glp = GlobalLocalPooling()
    x = _x(2, 6, 5)
    calls = []
    orig = torch.Tensor.masked_fill
    monkeypatch.setattr(torch.Tensor, 'masked_fill',
                        lambda self, *a: calls.append(1) or orig(self, *a))
    out = glp(x, torch.zeros(2, 6, dtype=torch.bool))
    assert calls == []  # no masking work when nothing is padded
    assert torch.equal(out, glp(x))
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0, -1] = True
    glp(x, mask)
    assert calls  # and the masked path when something is


def test_glp_is_convex_mix_in_between():
    glp = GlobalLocalPooling(init_mix=0.3, form='convex', mix_activation='clamp')
    x = _x(2, 6, 5)
    expected = 0.3 * _ref(F.max_pool1d, x, 3) + 0.7 * _ref(
        F.avg_pool1d, x, 3, count_include_pad=False)
    assert torch.allclose(glp(x), expected, atol=1e-6)
    # the max part dominates for larger mix; differs from both ends
    assert not torch.allclose(glp(x), _ref(F.max_pool1d, x, 3))


def test_glp_paper_form():
    glp = GlobalLocalPooling(form='paper', init_mix=0.25,
                             mix_activation='clamp')
    x = _x(2, 6, 5)
    p_max = _ref(F.max_pool1d, x, 3)
    p_avg = _ref(F.avg_pool1d, x, 3, count_include_pad=False)
    expected = 0.5 * (p_max + p_avg) + 0.25 * p_max + 0.75 * p_avg
    assert torch.allclose(glp(x), expected, atol=1e-6)


def test_max_and_avg_pooling_classes():
    x = _x(4, 2, 9, 3)
    assert torch.equal(MaxPooling(kernel_size=5)(x),
                       _ref(F.max_pool1d, x, 5))
    assert torch.equal(AvgPooling(kernel_size=5)(x),
                       _ref(F.avg_pool1d, x, 5, count_include_pad=False))


@pytest.mark.parametrize('cfg', [
    dict(type='GlobalLocalPooling', init_mix=0.6),
    dict(type='GlobalLocalPooling', init_mix=0.6, count_include_pad=True),
    dict(type='MaxPooling'), dict(type='AvgPooling'),
    dict(type='AvgPooling', count_include_pad=True, kernel_size=5)])
def test_padded_tokens_do_not_change_outputs(cfg):
    pool = POOLINGS.build(cfg)
    x = _x(2, 3, 7, 4)  # [T, B, L, C]
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[0, 5:] = True
    mask[2, 2:] = True
    out = pool(x, mask)
    assert out.shape == x.shape
    x_big = x.clone()
    x_big[:, mask] = 1e4  # garbage in padded slots
    assert torch.equal(pool(x_big, mask), out)
    assert (out[:, mask] == 0).all()
    # valid tokens equal the unpadded sample's output
    alone = pool(x[:, 2:3, :2])
    assert torch.allclose(out[:, 2:3, :2], alone, atol=1e-6)
    # a mask of all False gives the unmasked result
    assert torch.allclose(pool(x, torch.zeros_like(mask)), pool(x),
                          atol=1e-6)


def test_mix_gets_gradient_and_registries():
    glp = POOLINGS.build(dict(type='GlobalLocalPooling'))
    x = _x(2, 6, 5).requires_grad_()
    glp(x).square().sum().backward()
    assert glp.beta.grad is not None and glp.beta.grad != 0
    assert isinstance(MODELS.build(dict(type='poolings.MaxPooling')),
                      MaxPooling)
    frozen = GlobalLocalPooling(learnable=False)
    assert len(list(frozen.parameters())) == 0


@pytest.mark.parametrize('kwargs', [
    dict(kernel_size=2), dict(kernel_size=0), dict(form='x'),
    dict(mix_activation='x'), dict(init_mix=1.5),
    dict(init_mix=1.0, mix_activation='sigmoid')])
def test_invalid_options(kwargs):
    with pytest.raises(ValueError):
        GlobalLocalPooling(**kwargs)


def test_bad_mask_shape():
    with pytest.raises(ValueError, match='padding_mask'):
        MaxPooling()(_x(2, 6, 5), torch.zeros(3, 6, dtype=torch.bool))
