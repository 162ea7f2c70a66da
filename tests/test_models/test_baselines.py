"""Unit tests of the peer baselines' parts (BNMLP, TCaF mask and padding,
AVCA negatives, SpikingAVCA = AVCA + SNN branch, TrainModeEmbeddingHook); the
number-for-number checks against the peers are in test_peer_{tcaf,avca}.py.
"""
import pytest
import torch

from stftbox.apis import register_all_modules
from stftbox.models.baselines.tcaf import tcaf_attention_mask
from stftbox.models.baselines.avca import sample_negatives
from stftbox.registry import HOOKS, MODELS

B, LA, LV, DA, DV, T = 4, 5, 7, 6, 10, 12


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    am = torch.zeros(B, LA, dtype=torch.bool)
    vm = torch.zeros(B, LV, dtype=torch.bool)
    am[0, 3:] = True
    vm[1, 2:] = True
    return dict(audio=torch.rand(B, LA, DA, generator=g) * 255,
                video=torch.rand(B, LV, DV, generator=g),
                audio_padding_mask=am, video_padding_mask=vm)


def _tcaf(**head):
    register_all_modules()
    return MODELS.build(dict(
        type='TCaF',
        backbone=dict(type='TCaFBackbone', audio_channels=DA,
                      video_channels=DV, embed_dims=T, hidden_channels=8,
                      time_embed_dims=4, num_layers=2, num_heads=2,
                      head_dims=3, mlp_dims=5),
        head=dict(type='TCaFHead', in_channels=T, text_channels=T,
                  embed_dims=4, hidden_channels=6, **head)))


def _avca(backbone='AVCABackbone', **kw):
    register_all_modules()
    return MODELS.build(dict(
        type='AVCA',
        backbone=dict(type=backbone, audio_channels=DA, video_channels=DV,
                      embed_dims=9, hidden_channels=8, num_heads=3,
                      mlp_dims=5, **kw),
        head=dict(type='AVCAHead', in_channels=9, text_channels=T,
                  embed_dims=4, hidden_channels=6)))


def test_bn_mlp_layers_and_errors():
    register_all_modules()
    two = MODELS.build(dict(type='BNMLP', in_channels=3, out_channels=4,
                            hidden_channels=5, dropout=0.2, momentum=0.9))
    kinds = [type(m).__name__ for m in two.layers]
    assert kinds == ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear',
                     'BatchNorm1d', 'ReLU', 'Dropout']
    assert two.layers[1].momentum == 0.1 and two.layers[5].momentum == 0.9
    one = MODELS.build(dict(type='BNMLP', in_channels=3, out_channels=4))
    assert len(one.layers) == 4
    assert (two(torch.randn(6, 3)) >= 0).all()
    with pytest.raises(ValueError, match='dropout'):
        MODELS.build(dict(type='BNMLP', in_channels=3, out_channels=4,
                          dropout=1.0))
    with pytest.raises(ValueError, match='widths'):
        MODELS.build(dict(type='BNMLP', in_channels=0, out_channels=4))


def test_tcaf_cross_attention_mask_by_hand():
    # CLS, 2 audio (the second padded), 2 video
    valid = torch.tensor([[True, True, False, True, True]])
    got = tcaf_attention_mask(valid, num_audio=2, cross_only=True)[0]
    want = torch.tensor([[1, 1, 0, 1, 1],   # CLS sees every valid token
                         [1, 0, 0, 1, 1],   # audio: CLS + video only
                         [0, 0, 0, 0, 0],   # padded query sees nothing
                         [1, 1, 0, 0, 0],   # video: CLS + valid audio
                         [1, 1, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(got, want)
    full = tcaf_attention_mask(valid, num_audio=2, cross_only=False)[0]
    assert full[1, 1] and full[3, 4] and not full[2].any()


def test_tcaf_padding_is_ignored_and_finite():
    model = _tcaf().eval()
    x = _inputs()
    changed = dict(x)
    changed['audio'] = x['audio'].masked_fill(
        x['audio_padding_mask'][..., None], 200.0)
    with torch.no_grad():
        a = model(x, mode='tensor')
        b = model(changed, mode='tensor')
    assert torch.isfinite(a['tokens']).all()  # padded rows: no NaN
    # padded audio frames reach no valid token (eval BatchNorm)
    assert torch.allclose(a['embedding'], b['embedding'], atol=1e-6)


def test_tcaf_loss_predict_and_head_errors():
    model = _tcaf()
    model.set_class_embeddings(torch.nn.functional.normalize(
        torch.randn(6, T), dim=1), train_class_ids=[0, 2, 4])
    x = _inputs()
    losses = model(x, dict(labels=torch.tensor([0, 2, 4, 2])), mode='loss')
    assert set(losses) == {'loss_cross_entropy', 'loss_regression',
                           'loss_reconstruction'}
    sum(losses.values()).backward()
    assert model.backbone.cls_token.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match='training classes'):
        model(x, dict(labels=torch.tensor([1, 2, 4, 2])), mode='loss')
    model.eval()
    preds = model(x, dict(labels=torch.tensor([0, 1, 2, 3])),
                  mode='predict')
    assert len(preds) == B and preds[0]['distances'].shape == (6, )
    with pytest.raises(ValueError, match='time_mode'):
        model.backbone(x['audio'], x['video'], time_mode='frames')
    with pytest.raises(ValueError, match='reconstruction'):
        MODELS.build(dict(type='TCaFHead', in_channels=8, text_channels=9))
    no_ce = _tcaf(cross_entropy=None, reconstruction_weight=0.0)
    no_ce.set_class_embeddings(torch.randn(6, T), [0, 2, 4])
    assert set(no_ce(x, dict(labels=torch.tensor([0, 2, 4, 2])),
                     mode='loss')) == {'loss_regression'}


def test_sample_negatives_other_class():
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 1, 2, 2, 1])
    for _ in range(20):
        idx = sample_negatives(labels)
        assert (labels[idx] != labels).all()
    with pytest.raises(RuntimeError, match='two classes'):
        sample_negatives(torch.tensor([3, 3]))


def test_avca_in_batch_negatives_and_eval_modes():
    model = _avca()
    model.set_class_embeddings(torch.randn(6, T), train_class_ids=[0, 2, 4])
    x = _inputs()
    losses = model(x, dict(labels=torch.tensor([0, 2, 4, 2])), mode='loss')
    assert set(losses) == {'loss_reconstruction', 'loss_triplet_rho',
                           'loss_triplet_theta', 'loss_triplet_additional',
                           'loss_regression'}
    sum(losses.values()).backward()
    assert model.backbone.pos_embed.grad is None  # never trained
    model.eval()
    with torch.no_grad():
        feats = model(x, mode='tensor')
        video = model.head.predict(feats, model.class_embeddings)
        model.head.eval_mode = 'audio'
        audio = model.head.predict(feats, model.class_embeddings)
        model.head.eval_mode = 'both'
        both = model.head.predict(feats, model.class_embeddings)
    assert torch.allclose(both, audio + video, atol=1e-5)
    with pytest.raises(ValueError, match='eval_mode'):
        MODELS.build(dict(type='AVCAHead', eval_mode='mean'))


def test_spiking_avca_is_avca_plus_snn_branch():
    torch.manual_seed(0)
    spiking = _avca('SpikingAVCABackbone', snn_branch=dict(
        type='SNNBranch', time_steps=3, num_blocks=1,
        neuron=dict(type='IFNode'), pooling=None, tsf=None))
    kinds = {type(m).__name__ for m in spiking.modules()}
    assert {'IFNode', 'SNNBranch', 'AVCAHead'} <= kinds
    torch.manual_seed(0)
    plain = _avca('SpikingAVCABackbone', snn_branch=None)
    torch.manual_seed(0)
    avca = _avca()
    plain.load_state_dict(avca.state_dict())
    plain.eval(), avca.eval(), spiking.eval()
    x = _inputs()
    with torch.no_grad():
        assert torch.equal(plain(x, mode='tensor')['video'],
                           avca(x, mode='tensor')['video'])
        out = spiking(x, mode='tensor')
    assert out['snn']['step_outputs'].shape[0] == 3
    spiking.train()
    spiking.set_class_embeddings(torch.randn(6, T), [0, 2, 4])
    losses = spiking(x, dict(labels=torch.tensor([0, 2, 4, 2])), mode='loss')
    sum(losses.values()).backward()
    assert spiking.backbone.snn_proj.weight.grad.abs().sum() > 0


class _Runner:

    def __init__(self, model):
        self.model = model


def test_train_mode_embedding_hook_updates_batchnorm_once():
    register_all_modules()
    model = _tcaf()
    model.set_class_embeddings(torch.randn(6, T), [0, 2, 4])
    model.train()
    hook = HOOKS.build(dict(type='TrainModeEmbeddingHook'))
    batch = dict(inputs=_inputs(), data_samples=dict(
        labels=torch.tensor([0, 2, 4, 2])))
    bn = model.head.text_proj.layers[1]
    dec = model.head.text_decoder.layers[1]
    n0, d0 = int(bn.num_batches_tracked), int(dec.num_batches_tracked)
    hook.after_train_iter(_Runner(model), 0, batch, None)
    assert int(bn.num_batches_tracked) == n0 + 1
    assert int(dec.num_batches_tracked) == d0  # decoders are not run
    assert model.backbone.cls_token.grad is None
    # models without the method are left alone
    hook.after_train_iter(_Runner(torch.nn.Linear(2, 2)), 0, batch, None)
