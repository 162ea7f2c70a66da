"""Tests of the baseline backbones (TCaFBackbone, AVCABackbone) and of the
baseline models built from registered parts (TCaF / AVCA / AVMST-style)."""
import pytest
import torch

import stftbox.models  # noqa: F401
from stftbox.registry import MODELS

B, LA, LV, DA, DV, D = 3, 5, 7, 6, 10, 8


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    am = torch.zeros(B, LA, dtype=torch.bool)
    vm = torch.zeros(B, LV, dtype=torch.bool)
    am[0, 3:] = True
    vm[1, 2:] = True
    return dict(audio=torch.randn(B, LA, DA, generator=g),
                video=torch.randn(B, LV, DV, generator=g),
                audio_padding_mask=am, video_padding_mask=vm)


def _tcaf(**kw):
    cfg = dict(type='TCaFBackbone', audio_channels=DA, video_channels=DV,
               embed_dims=D, out_channels=12,
               transformer=dict(type='CrossModalTransformer', num_heads=2,
                                num_layers=1))
    cfg.update(kw)
    return MODELS.build(cfg)


def _avca(**kw):
    cfg = dict(type='AVCABackbone', audio_channels=DA, video_channels=DV,
               embed_dims=D, num_heads=2, out_channels=12)
    cfg.update(kw)
    return MODELS.build(cfg)


def _padding_changed(inputs):
    out = dict(inputs)
    out['audio'] = inputs['audio'].masked_fill(
        inputs['audio_padding_mask'].unsqueeze(-1), 100.0)
    out['video'] = inputs['video'].masked_fill(
        inputs['video_padding_mask'].unsqueeze(-1), -50.0)
    return out


@pytest.mark.parametrize('pooling', ['modality_concat', 'mean'])
def test_tcaf_shapes_losses_and_padding(pooling):
    torch.manual_seed(0)
    net = _tcaf(pooling=pooling).eval()
    x = _inputs()
    out = net(**x)
    assert out['embedding'].shape == (B, 12)
    assert out['tokens'].shape == (B, LA + LV, D)
    assert set(out['losses']) == {'loss_input_reconstruction'}
    assert out['losses']['loss_input_reconstruction'] > 0
    torch.testing.assert_close(net(**_padding_changed(x))['embedding'],
                               out['embedding'])
    # masks default to "all valid"
    y = net(x['audio'], x['video'])['embedding']
    assert y.shape == (B, 12) and torch.isfinite(y).all()


def test_tcaf_gradients_and_no_reconstruction():
    torch.manual_seed(0)
    net = _tcaf(reconstruction_weight=0.0)
    assert not hasattr(net, 'audio_decoder')
    out = net(**_inputs())
    assert out['losses'] == {}
    out['embedding'].sum().backward()
    assert net.audio_encoder.fc.weight.grad.abs().sum() > 0
    assert net.video_encoder.fc.weight.grad.abs().sum() > 0


def test_tcaf_errors():
    with pytest.raises(ValueError, match='pooling'):
        _tcaf(pooling='max')
    with pytest.raises(ValueError, match='reconstruction_weight'):
        _tcaf(reconstruction_weight=-1)
    with pytest.raises(ValueError, match='embed_dims'):
        _tcaf(transformer=dict(type='CrossModalTransformer', embed_dims=4,
                               num_heads=2))
    with pytest.raises(KeyError, match='did you mean'):
        _tcaf(transformer=dict(type='CrossModalTransformr'))


def test_avca_shapes_losses_and_padding():
    torch.manual_seed(0)
    net = _avca().eval()
    x = _inputs()
    out = net(**x)
    assert out['embedding'].shape == (B, 12)
    assert out['audio'].shape == (B, D) and out['video'].shape == (B, D)
    assert out['losses']['loss_input_reconstruction'] > 0
    torch.testing.assert_close(net(**_padding_changed(x))['embedding'],
                               out['embedding'])


def test_avca_averaging_ignores_step_order():
    """With temporal averaging only the mean over valid steps matters."""
    torch.manual_seed(0)
    net = _avca().eval()
    x = _inputs()
    x['audio_padding_mask'][:] = False
    x['video_padding_mask'][:] = False
    y = dict(x, audio=x['audio'].flip(1), video=x['video'].roll(2, dims=1))
    torch.testing.assert_close(net(**y)['embedding'], net(**x)['embedding'])


def test_avca_temporal_attention_and_empty_modality():
    torch.manual_seed(0)
    net = _avca(temporal_average=False).eval()
    x = _inputs()
    x['video_padding_mask'][2] = True      # clip 2 has no valid video step
    out = net(**x)
    assert out['embedding'].shape == (B, 12)
    assert torch.isfinite(out['embedding']).all()
    torch.testing.assert_close(net(**_padding_changed(x))['embedding'],
                               out['embedding'])


def test_avca_cross_attention_mixes_modalities():
    torch.manual_seed(0)
    net = _avca().eval()
    x = _inputs()
    y = dict(x, video=x['video'] + 1.0)
    a1 = net(**x)['audio']
    a2 = net(**y)['audio']
    assert (a1 - a2).abs().max() > 1e-4   # audio output depends on video


def test_avca_errors():
    with pytest.raises(ValueError, match='divisible'):
        _avca(num_heads=3)
    with pytest.raises(ValueError, match='reconstruction_weight'):
        _avca(reconstruction_weight=-0.1)


def _classifier(backbone, losses):
    return MODELS.build(dict(
        type='AVGZSLClassifier', backbone=backbone,
        head=dict(type='GZSLHead', in_channels=12, text_channels=5,
                  embed_dims=4, losses=losses)))


@pytest.mark.parametrize('name', ['tcaf', 'avca', 'avmst'])
def test_baseline_models_train_step(name):
    torch.manual_seed(0)
    common = dict(audio_channels=DA, video_channels=DV, embed_dims=D,
                  out_channels=12)
    if name == 'tcaf':
        backbone = dict(type='TCaFBackbone', transformer=dict(
            type='CrossModalTransformer', num_heads=2, num_layers=1),
            **common)
        losses = [dict(type='DistanceCrossEntropyLoss'),
                  dict(type='ProjectionLoss')]
    elif name == 'avca':
        backbone = dict(type='AVCABackbone', num_heads=2, **common)
        losses = [dict(type='TripletLoss'), dict(type='ProjectionLoss')]
    else:
        backbone = dict(
            type='STFTBackbone',
            snn_branch=dict(type='SNNBranch', time_steps=3, num_blocks=1,
                            neuron=dict(type='IFNode'), pooling=None,
                            tsf=None),
            transformer_branch=dict(
                type='TransformerBranch', knowledge_combiner=None,
                cross_modal=dict(type='CrossModalTransformer', num_heads=2,
                                 num_layers=1)),
            fusion=dict(type='ConcatFusion'), multi_scale=None, **common)
        losses = [dict(type='TripletLoss'), dict(type='ProjectionLoss')]
    model = _classifier(backbone, losses)
    model.set_class_embeddings(torch.randn(6, 5), train_class_ids=[0, 2, 4])
    labels = dict(labels=torch.tensor([0, 2, 4]))
    losses = model(_inputs(), labels, mode='loss')
    assert 'loss_reconstruction' in losses
    assert 'loss_input_reconstruction' in losses
    sum(losses.values()).backward()
    model.eval()
    preds = model(_inputs(), labels, mode='predict')
    assert len(preds) == B and preds[0]['distances'].shape == (6, )
    if name == 'avmst':
        kinds = {type(m).__name__ for m in model.modules()}
        assert 'IFNode' in kinds and 'DynamicThresholdLIF' not in kinds
