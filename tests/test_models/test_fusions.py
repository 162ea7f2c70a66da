"""Tests of the SNN/transformer fusions (stftbox.models.fusions)."""
import pytest
import torch
import torch.nn as nn

import stftbox.models  # noqa: F401
from stftbox.models.fusions import (BilinearFusion, ConcatFusion,
                                    MultiScaleFusion, TuckerFusion)
from stftbox.registry import FUSIONS, MODELS


def _tucker(**kw):
    cfg = dict(type='TuckerFusion', r_channels=6, s_channels=5,
               out_channels=4, rank_r=3, rank_s=4, rank_o=2)
    cfg.update(kw)
    return FUSIONS.build(cfg).double()


def test_tucker_is_bilinear():
    torch.manual_seed(0)
    fuse = _tucker()
    r, r2 = torch.randn(7, 6, dtype=torch.double), torch.randn(
        7, 6, dtype=torch.double)
    s, s2 = torch.randn(7, 5, dtype=torch.double), torch.randn(
        7, 5, dtype=torch.double)
    y = fuse(r, s)
    assert y.shape == (7, 4)
    assert y.abs().max() > 1e-3
    torch.testing.assert_close(fuse(2.5 * r, s), 2.5 * y)
    torch.testing.assert_close(fuse(r, -3.0 * s), -3.0 * y)
    torch.testing.assert_close(fuse(r + r2, s), y + fuse(r2, s))
    torch.testing.assert_close(fuse(r, s + s2), y + fuse(r, s2))
    # not linear jointly: doubling both scales by 4
    torch.testing.assert_close(fuse(2 * r, 2 * s), 4 * y)


def test_tucker_matches_explicit_formula():
    torch.manual_seed(1)
    fuse = _tucker()
    r = torch.randn(3, 6, dtype=torch.double)
    s = torch.randn(3, 5, dtype=torch.double)
    rp = r @ fuse.proj_r.weight.T
    sp = s @ fuse.proj_s.weight.T
    z = torch.einsum('bi,ijk,bj->bk', rp, fuse.core, sp)
    torch.testing.assert_close(fuse(r, s), z @ fuse.proj_o.weight.T)


def test_tucker_broadcasts_leading_dims_per_step():
    torch.manual_seed(2)
    fuse = _tucker()
    r = torch.randn(3, 6, dtype=torch.double)           # [B, d_r]
    steps = torch.randn(5, 3, 5, dtype=torch.double)    # [T, B, d_s]
    y = fuse(r, steps)
    assert y.shape == (5, 3, 4)
    for t in range(5):
        torch.testing.assert_close(y[t], fuse(r, steps[t]))
    # the other contraction order (r has more rows than s)
    y2 = fuse(steps.new_ones(5, 3, 1) * r, steps[0])
    torch.testing.assert_close(y2[4], fuse(r, steps[0]))
    with pytest.raises(ValueError):
        fuse(torch.randn(3, 7, dtype=torch.double), steps)
    with pytest.raises(ValueError):
        fuse(torch.randn(4, 6, dtype=torch.double), steps)


@pytest.mark.parametrize('bias', [False, True])
def test_tucker_parameter_count(bias):
    fuse = _tucker(bias=bias)
    n = sum(p.numel() for p in fuse.parameters())
    assert n == TuckerFusion.num_parameters_formula(6, 5, 4, 3, 4, 2, bias)
    assert n == 6 * 3 + 5 * 4 + 3 * 4 * 2 + 2 * 4 + (3 + 4 + 4 if bias else 0)


def test_tucker_paper_width_is_far_below_full_bilinear():
    fuse = TuckerFusion(512, 512, 512)     # rank 60 default [S]
    n = sum(p.numel() for p in fuse.parameters())
    assert n == 512 * 60 * 3 + 60 ** 3 == 308_160
    full = TuckerFusion.full_bilinear_num_parameters(512, 512, 512)
    assert full == 512 ** 3 + 512
    assert n * 400 < full


def test_tucker_full_rank_represents_any_bilinear_map():
    torch.manual_seed(3)
    d_r, d_s, d_o = 4, 3, 5
    bil = nn.Bilinear(d_r, d_s, d_o, bias=False).double()
    fuse = TuckerFusion(d_r, d_s, d_o, rank_r=d_r, rank_s=d_s,
                        rank_o=d_o).double()
    with torch.no_grad():
        for lin in (fuse.proj_r, fuse.proj_s, fuse.proj_o):
            lin.weight.copy_(torch.eye(lin.weight.shape[0]))
        fuse.core.copy_(bil.weight.permute(1, 2, 0))   # [R_r, R_s, R_o]
    r = torch.randn(8, d_r, dtype=torch.double)
    s = torch.randn(8, d_s, dtype=torch.double)
    torch.testing.assert_close(fuse(r, s), bil(r, s))
    # and BilinearFusion is that same map when given the weight
    bf = BilinearFusion(d_r, d_s, d_o, bias=False).double()
    with torch.no_grad():
        bf.bilinear.weight.copy_(bil.weight)
    torch.testing.assert_close(bf(r, s), bil(r, s))


def test_tucker_options_and_errors():
    fuse = _tucker(activation='Tanh', input_activation='Tanh', bias=True)
    y = fuse(torch.randn(2, 6, dtype=torch.double) * 50,
             torch.randn(2, 5, dtype=torch.double) * 50)
    assert y.abs().max() <= 1.0
    with pytest.raises(ValueError):
        _tucker(activation='NoSuchAct')
    with pytest.raises(ValueError):
        _tucker(rank_r=0)
    with pytest.raises(ValueError):
        _tucker(dropout=1.0)


def test_concat_and_bilinear_shapes_and_registry():
    torch.manual_seed(4)
    r, s = torch.randn(2, 3, 6), torch.randn(3, 5)
    cat = FUSIONS.build(dict(type='ConcatFusion', r_channels=6, s_channels=5,
                             out_channels=4))
    bil = MODELS.build(dict(type='fusions.BilinearFusion', r_channels=6,
                            s_channels=5, out_channels=4))
    assert isinstance(cat, ConcatFusion) and isinstance(bil, BilinearFusion)
    assert cat(r, s).shape == (2, 3, 4) and bil(r, s).shape == (2, 3, 4)
    # concat is W_r r + W_s s + b
    w = cat.proj.weight
    torch.testing.assert_close(
        cat(r, s), r @ w[:, :6].T + s @ w[:, 6:].T + cat.proj.bias)
    assert sum(p.numel() for p in bil.parameters()) == 6 * 5 * 4 + 4
    with pytest.raises(ValueError):
        cat(r, torch.randn(3, 4))


@pytest.mark.parametrize('share', [True, False])
def test_multi_scale_fusion(share):
    torch.manual_seed(5)
    ms = FUSIONS.build(dict(type='MultiScaleFusion',
                            fusion=dict(type='TuckerFusion', rank_r=3,
                                        rank_s=3, rank_o=3),
                            r_channels=6, s_channels=5, out_channels=4,
                            scale_norm=False, share_fusion=share))
    # shared (the default): one Tucker module, 6*3 + 5*3 + 27 + 3*4 weights
    n_tucker = 6 * 3 + 5 * 3 + 3 ** 3 + 3 * 4
    assert sum(p.numel() for p in ms.parameters()) == \
        n_tucker * (1 if share else 2)
    r, steps = torch.randn(2, 6), torch.randn(5, 2, 5)
    w = torch.softmax(torch.randn(5, 2), 0)
    s = (w.unsqueeze(-1) * steps).sum(0)
    y = ms(r, s, steps, w)
    assert y.shape == (2, 4)
    f_p, f_t = ms.fusions['pooled'], ms.fusions['steps']
    assert (f_p is f_t) == share
    expect = f_p(r, s) + (w.unsqueeze(-1) * f_t(r, steps)).sum(0)
    torch.testing.assert_close(y, expect)
    # no weights -> mean over steps; [T] weights broadcast over the batch
    torch.testing.assert_close(ms(r, s, steps),
                               f_p(r, s) + f_t(r, steps).mean(0))
    wt = torch.softmax(torch.randn(5), 0)
    torch.testing.assert_close(
        ms(r, s, steps, wt),
        f_p(r, s) + (wt[:, None, None] * f_t(r, steps)).sum(0))
    with pytest.raises(ValueError):
        ms(r, s)                      # 'steps' needs step outputs
    with pytest.raises(ValueError):
        ms(r, s, steps, torch.ones(4, 2))
    with pytest.raises(ValueError):
        MultiScaleFusion(dict(type='TuckerFusion'), 6, 5, 4,
                         scales=['pooled', 'nope'])
    cat = MultiScaleFusion(dict(type='ConcatFusion'), 6, 5, 4,
                           scales=['steps', 'pooled'], combine='concat',
                           share_fusion=True)
    assert cat.fusions['steps'] is cat.fusions['pooled']
    assert cat(r, s, steps, w).shape == (2, 4)
