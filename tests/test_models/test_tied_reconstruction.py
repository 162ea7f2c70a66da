"""The tied decoder's reconstruction loss computed from the encoder's linear
output equals decoding + masked MSE (value and gradients)."""
import copy

import pytest
import torch
import torch.nn.functional as F

import stftbox.models  # noqa: F401
from stftbox.ops.tied_reconstruction import (
    GramQuadratic, tied_reconstruction_mse)
from stftbox.models.backbones.two_stream import masked_mse
from stftbox.registry import MODELS

from test_stft_backbone import CFG, _inputs


def _grads(fast, mask, enc_bias=True, dec_bias=True):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 6, 20, generator=g) + 0.5
    w = torch.randn(8, 20, generator=g).requires_grad_()
    be = torch.randn(8, generator=g).requires_grad_() if enc_bias else None
    b = torch.randn(20, generator=g).requires_grad_() if dec_bias else None
    o = F.linear(x, w, be)
    a = torch.tanh(o)
    if mask is not None:
        a = a.masked_fill(mask.unsqueeze(-1), 0.0)
    if fast:
        loss = tied_reconstruction_mse(a, o, x, w, be, b, mask)
    else:
        m = mask if mask is not None else torch.zeros(4, 6, dtype=torch.bool)
        loss = masked_mse(F.linear(a, w.t(), b), x, m)
    params = [p for p in (w, be, b) if p is not None]
    return [loss.detach()] + list(torch.autograd.grad(loss, params))


@pytest.mark.parametrize('padded', [False, True])
@pytest.mark.parametrize('biases', [(True, True), (False, True),
                                    (True, False), (False, False)])
def test_equals_decode_then_masked_mse(padded, biases):
    mask = None
    if padded:
        mask = torch.zeros(4, 6, dtype=torch.bool)
        mask[1, 3:] = True
        mask[3] = True
    fast = _grads(True, mask, *biases)
    slow = _grads(False, mask, *biases)
    assert fast[0] > 0
    for f, s in zip(fast, slow):
        torch.testing.assert_close(f, s, rtol=1e-5, atol=1e-6)


def test_all_padded_is_zero():
    x = torch.randn(2, 3, 5)
    w = torch.randn(4, 5, requires_grad=True)
    o = F.linear(x, w)
    a = torch.zeros(2, 3, 4)
    mask = torch.ones(2, 3, dtype=torch.bool)
    loss = tied_reconstruction_mse(a, o, x, w, None, torch.zeros(5), mask)
    assert loss.item() == 0.0


def test_hand_computed_value():
    # one step, d = 1, D = 2: x_hat = a W + b = [2, 3] * 1 + [1, 0] = [3, 3]
    # against x = [1, 5]: ((3 - 1)^2 + (3 - 5)^2) / 2 = 4
    w = torch.tensor([[2.0, 3.0]])
    x = torch.tensor([[[1.0, 5.0]]])
    o = F.linear(x, w)                           # 2 + 15 = 17
    a = torch.ones(1, 1, 1)
    loss = tied_reconstruction_mse(a, o, x, w, None, torch.tensor([1.0, 0]))
    assert loss.item() == pytest.approx(4.0)


def test_gram_quadratic_gradcheck():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, generator=g, dtype=torch.double).requires_grad_()
    k = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.5], dtype=torch.double)
    w = torch.randn(3, 4, generator=g, dtype=torch.double).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, w: GramQuadratic.apply(a, k, w), (a, w))
    expect = (k * ((a @ w) ** 2).sum(-1)).sum()
    torch.testing.assert_close(GramQuadratic.apply(a, k, w), expect)


def test_shape_error_names_the_shapes():
    w = torch.randn(4, 5)
    with pytest.raises(ValueError, match=r'target \[\.\.\., 5\]'):
        tied_reconstruction_mse(torch.randn(2, 4), torch.randn(2, 4),
                                torch.randn(2, 6), w, None, None)


def test_backbone_uses_it_with_the_same_loss_and_gradients():
    """STFTBackbone: the linear-output path (default) and decode + MSE
    (``tied_from_linear = False``) give the same loss and gradients."""
    a, v, am, vm = _inputs()
    results = []
    for from_linear in (True, False):
        torch.manual_seed(0)
        bb = MODELS.build(copy.deepcopy(CFG))
        bb.tied_from_linear = from_linear
        assert bb._tied_from_linear('video') is from_linear
        rec = bb(a, v, am, vm)['losses']['loss_input_reconstruction']
        grads = torch.autograd.grad(rec, [bb.video_encoder.fc.weight,
                                          bb.audio_encoder.fc.bias,
                                          bb.video_decoder.bias])
        results.append([rec.detach(), *grads])
    for f, s in zip(*results):
        torch.testing.assert_close(f, s, rtol=1e-5, atol=1e-6)


def test_backbone_falls_back_for_other_decoders():
    cfg = copy.deepcopy(CFG)
    cfg['decoder'] = 'linear'
    bb = MODELS.build(cfg)
    assert not bb._tied_from_linear('audio')
    _, lin = bb.encode('audio', torch.randn(2, 3, 7), None, True)
    assert lin is None


def _offset_case(dtype, offset=100.0):
    g = torch.Generator().manual_seed(5)
    w = torch.randn(16, 64, generator=g, dtype=torch.float64) / 8
    a = torch.randn(3, 10, 16, generator=g, dtype=torch.float64)
    b = torch.full((64, ), offset, dtype=torch.float64)
    # features far from 0 whose offset the decoder bias has learned; the
    # residual a W + b - x is O(1)
    x = a @ w + b + torch.randn(3, 10, 64, generator=g, dtype=torch.float64)
    be = torch.randn(16, generator=g, dtype=torch.float64)
    o = F.linear(x, w, be)
    return [t.to(dtype) for t in (a, o, x, w, be, b)]


def test_offset_features_keep_float32_accuracy():
    """The ||x - b||^2 term is an exact pass: no cancellation against an
    offset of the features (float32 against a float64 reference)."""
    ref = tied_reconstruction_mse(*_offset_case(torch.float64))
    got = tied_reconstruction_mse(*_offset_case(torch.float32))
    a, o, x, w, be, b = _offset_case(torch.float64)
    direct = masked_mse(F.linear(a, w.t(), b), x,
                        torch.zeros(3, 10, dtype=torch.bool))
    torch.testing.assert_close(ref, direct, rtol=1e-10, atol=0)
    assert ref.dtype == torch.float64 and got.dtype == torch.float32
    torch.testing.assert_close(got.double(), ref, rtol=2e-5, atol=0)


def test_under_autocast_runs_in_float32():
    """bf16 autocast (AmpOptimWrapper): the loss is computed with autocast
    off, in float32 (same value as without autocast)."""
    a, o, x, w, be, b = _offset_case(torch.float32, offset=1.0)
    plain = tied_reconstruction_mse(a, o, x, w, be, b)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp = tied_reconstruction_mse(a, o.bfloat16(), x, w, be, b)
    assert amp.dtype == torch.float32
    torch.testing.assert_close(amp, plain, rtol=2e-2, atol=0)
    bb = MODELS.build(copy.deepcopy(CFG))
    inputs = _inputs()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rec = bb(*inputs)['losses']['loss_input_reconstruction']
    assert torch.isfinite(rec) and rec.dtype == torch.float32


def test_mask_shape_is_checked():
    w = torch.randn(4, 5)
    with pytest.raises(ValueError, match=r'padding_mask must be \(2, 3\)'):
        tied_reconstruction_mse(torch.randn(2, 3, 4), torch.randn(2, 3, 4),
                                torch.randn(2, 3, 5), w, None, None,
                                torch.zeros(2, 1, dtype=torch.bool))
