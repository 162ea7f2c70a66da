"""Tests of the STFT backbone (encoders + SNN + transformer + fusion)."""
import copy

import pytest
import torch
from mmengine.config import Config

import stftbox.models  # noqa: F401
from stftbox.models.backbones.stft_backbone import masked_mse
from stftbox.models.fusions import (BilinearFusion, ConcatFusion,
                                    MultiScaleFusion, TuckerFusion)
from stftbox.registry import MODELS

CFG = dict(
    type='STFTBackbone', audio_channels=7, video_channels=9, embed_dims=16,
    out_channels=12,
    encoder=dict(type='ModalityEncoder', dropout=0.0),
    snn_branch=dict(type='SNNBranch', time_steps=4, num_blocks=2),
    transformer_branch=dict(
        type='TransformerBranch',
        knowledge_combiner=dict(type='LatentKnowledgeCombiner', num_slots=3,
                                num_heads=2),
        cross_modal=dict(type='CrossModalTransformer', num_heads=2,
                         num_layers=1)),
    fusion=dict(type='TuckerFusion', rank_r=4, rank_s=5, rank_o=6))


def _build(**kw):
    cfg = copy.deepcopy(CFG)
    cfg.update(kw)
    return MODELS.build(cfg)


def _inputs():
    g = torch.Generator().manual_seed(0)
    a, v = torch.randn(3, 5, 7, generator=g), torch.randn(3, 4, 9,
                                                          generator=g)
    am = torch.zeros(3, 5, dtype=torch.bool)
    am[0, 3:] = True
    vm = torch.zeros(3, 4, dtype=torch.bool)
    vm[1] = True                      # clip 1: video fully padded
    return a, v, am, vm


def test_output_shapes_and_losses():
    torch.manual_seed(0)
    bb = _build()
    a, v, am, vm = _inputs()
    out = bb(a, v, am, vm)
    assert out['embedding'].shape == (3, 12)
    assert torch.isfinite(out['embedding']).all()
    assert out['snn']['embedding'].shape == (3, 16)
    assert out['snn']['step_outputs'].shape == (4, 3, 16)
    assert out['transformer']['embedding'].shape == (3, 16)
    assert out['transformer']['tokens'].shape == (3, 5 + 4 + 3, 16)
    assert isinstance(bb.fusion, MultiScaleFusion)
    assert isinstance(bb.fusion.fusions['steps'], TuckerFusion)
    assert bb.fusion.fusions['pooled'].ranks == (4, 5, 6)
    assert out['modality_embeddings']['audio'].shape == (3, 16)
    assert torch.all(out['modality_embeddings']['video'][1] == 0)
    rec = out['losses']['loss_input_reconstruction']
    # default 'tied' decoders: x_hat = h W_enc + b (W_enc = encoder fc)
    ha, hv = bb.audio_encoder(a, am), bb.video_encoder(v, vm)
    expect = 0.5 * (
        masked_mse(ha @ bb.audio_encoder.fc.weight + bb.audio_decoder.bias,
                   a, am) +
        masked_mse(hv @ bb.video_encoder.fc.weight + bb.video_decoder.bias,
                   v, vm))
    torch.testing.assert_close(rec, expect)
    assert rec > 0


@pytest.mark.parametrize('kind,params', [
    # decoder parameters of a 16 -> (7, 9) model: biases only / full
    # linear / Linear(16, 4) + Linear(4, D)
    ('tied', 7 + 9), ('linear', 16 * 7 + 7 + 16 * 9 + 9),
    ('bottleneck', 2 * (16 * 4 + 4) + 4 * 7 + 7 + 4 * 9 + 9)])
def test_decoder_kinds(kind, params):
    torch.manual_seed(0)
    bb = _build(decoder=kind, decoder_hidden_dims=4)
    n = sum(p.numel() for name, p in bb.named_parameters()
            if '_decoder' in name)
    assert n == params
    a, v, am, vm = _inputs()
    rec = bb(a, v, am, vm)['losses']['loss_input_reconstruction']
    assert torch.isfinite(rec) and rec > 0
    with pytest.raises(ValueError, match='decoder must be one of'):
        _build(decoder='conv')


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(1)
    bb = _build()
    a, v, am, vm = _inputs()
    out = bb(a, v, am, vm)
    w = torch.randn(out['embedding'].shape)
    loss = (out['embedding'] * w).sum() + sum(out['losses'].values())
    loss.backward()
    missing = [n for n, p in bb.named_parameters() if p.requires_grad and (
        p.grad is None or not torch.any(p.grad != 0))]
    assert missing == []
    assert len(list(bb.parameters())) > 40


def test_padded_steps_do_not_change_the_output():
    torch.manual_seed(2)
    bb = _build().eval()
    a, v, am, vm = _inputs()
    out = bb(a, v, am, vm)
    a2, v2 = a.clone(), v.clone()
    a2[am] = 50.0
    v2[vm] = -50.0
    out2 = bb(a2, v2, am, vm)
    torch.testing.assert_close(out2['embedding'], out['embedding'])
    torch.testing.assert_close(out2['losses']['loss_input_reconstruction'],
                               out['losses']['loss_input_reconstruction'])
    # clip 2 is unpadded: a batch of it alone gives the same embedding
    alone = bb(a[2:], v[2:], am[2:], vm[2:])['embedding']
    torch.testing.assert_close(alone[0], out['embedding'][2])


def test_padded_clip_does_not_depend_on_its_batch():
    torch.manual_seed(3)
    bb = _build().eval()
    short_a, short_v = torch.randn(1, 3, 7), torch.randn(1, 4, 9)
    alone = bb(short_a, short_v, torch.zeros(1, 3, dtype=torch.bool),
               torch.zeros(1, 4, dtype=torch.bool))['embedding'][0]
    # the same clip padded to a longer neighbour's lengths
    a = torch.zeros(2, 7, 7)
    v = torch.zeros(2, 9, 9)
    a[0, :3], v[0, :4] = short_a[0], short_v[0]
    a[1], v[1] = torch.randn(7, 7), torch.randn(9, 9)
    am = torch.zeros(2, 7, dtype=torch.bool)
    vm = torch.zeros(2, 9, dtype=torch.bool)
    am[0, 3:], vm[0, 4:] = True, True
    batched = bb(a, v, am, vm)['embedding'][0]
    torch.testing.assert_close(batched, alone)


@pytest.mark.parametrize('ftype,cls', [('ConcatFusion', ConcatFusion),
                                       ('BilinearFusion', BilinearFusion),
                                       ('TuckerFusion', TuckerFusion)])
def test_fusion_swapped_by_config(ftype, cls):
    torch.manual_seed(3)
    bb = _build(fusion=dict(type=ftype), multi_scale=None,
                reconstruction_weight=0.0)
    assert type(bb.fusion) is cls
    assert (bb.fusion.r_channels, bb.fusion.s_channels,
            bb.fusion.out_channels) == (16, 16, 12)
    assert not hasattr(bb, 'audio_decoder')
    bb.eval()
    a, v, am, vm = _inputs()
    out = bb(a, v, am, vm)
    assert out['losses'] == {}
    torch.testing.assert_close(
        out['embedding'],
        bb.fusion(out['transformer']['embedding'], out['snn']['embedding']))


def test_step_weighting_uses_the_snn_tsf():
    torch.manual_seed(4)
    bb = _build().eval()
    with torch.no_grad():
        bb.snn_branch.tsf.step_scores.copy_(torch.tensor([3., -2., 0., 1.]))
    a, v, am, vm = _inputs()
    out = bb(a, v, am, vm)
    r, s = out['transformer']['embedding'], out['snn']['embedding']
    steps = out['snn']['step_outputs']
    w = torch.softmax(torch.tensor([3., -2., 0., 1.]), 0)
    torch.testing.assert_close(out['embedding'],
                               bb.fusion(r, s, steps, w[:, None]))
    bb.step_weighting = 'mean'
    mean_out = bb(a, v, am, vm)['embedding']
    torch.testing.assert_close(mean_out, bb.fusion(r, s, steps, None))
    assert not torch.allclose(mean_out, out['embedding'], atol=1e-5)


def test_widths_from_cfg_options_and_errors():
    cfg = Config(dict(model=copy.deepcopy(CFG)))
    cfg.merge_from_dict({'model.embed_dims': 8, 'model.out_channels': 6,
                         'model.fusion.rank_o': 3})
    bb = MODELS.build(cfg.model)
    assert bb.audio_encoder.embed_dims == 8
    assert bb.snn_branch.embed_dims == 8
    assert bb.fusion.fusions['pooled'].ranks == (4, 5, 3)
    a, v, am, vm = _inputs()
    assert bb(a, v, am, vm)['embedding'].shape == (3, 6)
    # the SNN width can differ from the transformer width
    bb2 = _build(snn_branch=dict(type='SNNBranch', time_steps=2,
                                 num_blocks=1, embed_dims=10))
    assert bb2.fusion.fusions['steps'].s_channels == 10
    assert bb2(a, v, am, vm)['embedding'].shape == (3, 12)
    with pytest.raises(ValueError):
        _build(transformer_branch=dict(type='TransformerBranch',
                                       embed_dims=8))
    with pytest.raises(ValueError):
        _build(step_weighting='max')


def test_prediction_skips_the_reconstruction():
    torch.manual_seed(7)
    bb = _build().eval()
    a, v, am, vm = _inputs()
    full = bb(a, v, am, vm)
    lean = bb(a, v, am, vm, with_losses=False)
    assert lean['losses'] == {} and full['losses']
    torch.testing.assert_close(lean['embedding'], full['embedding'])
