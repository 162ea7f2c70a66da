"""stftbox AVCA equals the released AVCA-GZSL model number for number, on
every ``avca_*.pt`` reference fixture in ``$STFTBOX_PEER_FIXTURES`` (default
tests/data/peer_fixtures; produced by running the peer's own code; its README
lists the conventions checked here). Widths, depth, learning rate and counts
are read from the fixture."""
import math

import pytest
import torch

import os.path as osp

from mmengine.config import Config

from peer_fixture_utils import (ATOL, assert_close_rel, dropout_off,
                                fixture_names, load_fixture, max_abs_diff,
                                peer_view)
from stftbox.apis import register_all_modules
from stftbox.evaluation.gzsl_metric import calibrated_predictions
from stftbox.models.converters import (convert_avca_state,
                                       convert_peer_checkpoint)
from stftbox.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module', params=fixture_names('avca'))
def fx(request):
    return load_fixture(request.param)


def cfg_from_hparams(h: dict) -> dict:
    """Our model config from the peer's ``params_model`` names (the 300-d
    width, 3 heads and MLP 64 are hard-coded in the peer)."""
    return dict(
        type='AVCA',
        backbone=dict(type='AVCABackbone',
                      audio_channels=h['input_size_audio'],
                      video_channels=h['input_size_video'], embed_dims=300,
                      hidden_channels=h['encoder_hidden_size'],
                      encoder_dropout=h['dropout_encoder'],
                      momentum=h['momentum'],
                      num_layers=h['depth_transformer'], num_heads=3,
                      mlp_dims=64),
        head=dict(type='AVCAHead', in_channels=300,
                  text_channels=h['word_embedding_dim'],
                  embed_dims=h['dim_out'],
                  hidden_channels=h['decoder_hidden_size'],
                  dropout=h['dropout_decoder'],
                  text_dropout=h['additional_dropout'],
                  momentum=h['momentum'],
                  first_additional_triplet=h['first_additional_triplet'],
                  second_additional_triplet=h['second_additional_triplet'],
                  regression=h['reg_loss'], eval_mode=h['eval_mode']))


def convert(state):
    return convert_avca_state(state)


def build(fx, state=None, dtype=torch.float32):
    register_all_modules()
    model = MODELS.build(cfg_from_hparams(fx['hparams']))
    model.load_state_dict(convert(state if state is not None else
                                  fx['state_dict'])[0], strict=True)
    return model.to(dtype)


#: our backbone output name -> the peer's attribute, for each of pos / neg
_BACKBONE = dict(pos=dict(phi_a='phi_a', phi_v='phi_v',
                          tokens_in='positive_input', tokens='phi_attn',
                          audio='audio_fe_attn', video='video_fe_attn'),
                 neg=dict(phi_a='phi_a_neg', phi_v='phi_v_neg',
                          tokens_in='negative_input', tokens='phi_attn_neg',
                          audio='audio_fe_neg_attn',
                          video='video_fe_neg_attn'))


def check_eval_outputs(model, fx, outputs):
    i = fx['inputs']
    model.eval()
    model.set_class_embeddings(i['class_text'], i['seen_class_ids'])
    worst = {}
    with torch.no_grad():
        pos = model.backbone(i['audio'], i['video'])
        neg = model.backbone(i['audio_neg'], i['video_neg'])
        fwd = model.head.forward_train(pos, neg, i['text'], i['text_neg'])
        diffs = {k: max_abs_diff(v, outputs['forward/' + k])
                 for k, v in fwd.items()}
        for name, feats in (('pos', pos), ('neg', neg)):
            diffs.update({peer: max_abs_diff(feats[ours],
                                             outputs['forward/' + peer])
                          for ours, peer in _BACKBONE[name].items()})
        assert {'forward/' + k for k in diffs} == {
            k for k in outputs if k.startswith('forward/')}
        worst['forward'] = max(diffs.values())
        emb = model({'audio': i['audio'], 'video': i['video']},
                    mode='tensor')
        theta_a, theta_v, theta_w = model.head.embed(emb, i['class_text'])
        worst['get_embeddings'] = max(
            max_abs_diff(theta_a, outputs['get_embeddings/theta_a']),
            max_abs_diff(theta_v, outputs['get_embeddings/theta_v']),
            max_abs_diff(theta_w, outputs['get_embeddings/theta_w']))
        preds = model({'audio': i['audio'], 'video': i['video']},
                      dict(labels=i['targets']), mode='predict')
        dist = torch.stack([p['distances'] for p in preds])
        worst['eval_distance'] = max_abs_diff(dist, outputs['eval_distance'])
        # video branch only, plain Euclidean
        assert max_abs_diff(dist, torch.cdist(theta_v, theta_w)) < 1e-6
        assert max_abs_diff(torch.cdist(theta_a, theta_w),
                            outputs['eval_distance']) > 1e-3
    seen, unseen = i['seen_class_ids'], i['unseen_class_ids']
    betas = outputs['eval_betas']
    gzsl = torch.stack([calibrated_predictions(dist, seen, unseen, float(b))
                        for b in betas])
    assert torch.equal(gzsl, outputs['eval_gzsl_pred_per_beta'])
    zsl = calibrated_predictions(dist, [], unseen, 0.0)
    assert torch.equal(zsl.expand(len(betas), -1),
                       outputs['eval_zsl_pred_per_beta'])
    for group, diff in worst.items():
        assert diff <= ATOL, f'{group}: max |ours - peer| = {diff:.3g}'
    return worst


def test_parameter_count_and_frozen_position_embedding(fx):
    model = build(fx)
    assert sum(p.numel() for p in model.parameters()) == fx['param_count']
    assert not model.backbone.pos_embed.requires_grad
    read = convert(fx['state_dict'])[1]
    want = cfg_from_hparams(fx['hparams'])
    for part in ('backbone', 'head'):
        for key, value in read[part].items():
            assert want[part][key] == value, (part, key)


def test_converter_reads_the_fixture_settings(fx):
    """The whole-file converter fills every setting from ``hparams``."""
    _, cfg = convert_peer_checkpoint(fx, 'avca')
    want = cfg_from_hparams(fx['hparams'])
    for part in ('backbone', 'head'):
        assert cfg[part] == want[part], part


@pytest.mark.parametrize('config', ['avca_ucf.py', 'avca_ucf_main.py'])
def test_full_published_width_parameter_count(fx, config):
    """The published UCF configurations have the peer's full-width counts:
    the fixture's (cls features) and README's 1,693,108 (SeLaVi 512/512);
    ``pos_embed`` is never trained (its size: the fixture's
    ``params_not_optimized``)."""
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(
        ROOT, 'configs', 'baselines', config)).model)
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    want = dict(zip(('avca_ucf.py', 'avca_ucf_main.py'),
                    (fx['full_ucf_param_count'], 1_693_108)))[config]
    assert total == want
    # frozen: what the peer never optimises, read from the fixture (its
    # ``pos_emb1D`` is 2 x 300, hard-coded at every width), not the model
    frozen = sum(fx['state_dict'][k].numel() for k in
                 fx['train_step']['optimizer']['params_not_optimized'])
    trainable = sum(p.numel() for p in params if p.requires_grad)
    assert trainable == total - frozen
    assert model.backbone.pos_embed.numel() == frozen
    if config == 'avca_ucf.py':  # README: 3,330,908 of them optimised
        assert trainable == 3_330_908


def test_bn_momentum_only_on_second_norm_of_two_layer_nets(fx):
    model = build(fx)
    enc = model.backbone.audio_encoder.layers
    assert enc[1].momentum == 0.1 and enc[5].momentum == 0.99
    proj = model.head.video_proj.layers
    assert proj[1].momentum == 0.1 and proj[5].momentum == 0.99
    assert model.head.text_decoder.layers[1].momentum == 0.1


def test_eval_outputs(fx):
    check_eval_outputs(build(fx), fx, fx['outputs'])


def test_eval_outputs_after_perturbing_norms(fx):
    state = dict(fx['state_dict'])
    state.update(fx['perturbed_norm_state'])
    check_eval_outputs(build(fx, state), fx, fx['outputs_perturbed'])


def test_temporal_inputs_are_averaged_over_valid_steps(fx):
    model = build(fx).eval()
    i = fx['inputs']
    a = torch.stack([i['audio'], i['audio'] * 3, torch.zeros_like(
        i['audio'])], dim=1)  # mean of the 2 valid steps = 2 * audio
    mask = torch.tensor([[False, False, True]]).expand(3, -1)
    v = i['video'][:, None]
    with torch.no_grad():
        got = model.backbone(a, v, mask, None)['video']
        want = model.backbone(2 * i['audio'], i['video'])['video']
    assert max_abs_diff(got, want) < 1e-6


def _train_step(fx, dtype):
    ts = fx['train_step']
    i = ts['inputs']
    model = build(fx, dtype=dtype)
    model.set_class_embeddings(i['class_text'].to(dtype), range(5))
    dropout_off(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt_cfg = ts['optimizer']
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=opt_cfg['lr'],
                           betas=tuple(opt_cfg['betas']),
                           eps=opt_cfg['eps'],
                           weight_decay=opt_cfg['weight_decay'])
    inputs = {k: i[k].to(dtype)
              for k in ('audio', 'video', 'audio_neg', 'video_neg')}
    samples = dict(labels=i['labels'], neg_labels=i['neg_labels'])
    losses = model(inputs, samples, mode='loss')
    opt.zero_grad()
    sum(losses.values()).backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()
             if p.grad is not None}
    opt.step()
    after = model.state_dict()
    delta = {k: after[k].double() - before[k].double() for k in after}
    model.train_mode_embedding_pass(inputs, samples)
    final = model.state_dict()
    loop = {k: final[k].double() - before[k].double() for k in final}
    return losses, grads, before, delta, loop


_LOSS_NAMES = dict(recon_w_from_rho='loss_reconstruction',
                   triplet_rho='loss_triplet_rho',
                   triplet_theta='loss_triplet_theta',
                   triplet_additional='loss_triplet_additional',
                   reg='loss_regression')


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_training_step_losses(fx, dtype):
    ref = fx['train_step']['losses']
    losses = _train_step(fx, dtype)[0]
    assert set(losses) == set(_LOSS_NAMES.values())
    for peer, ours in _LOSS_NAMES.items():
        assert abs(losses[ours].item() - ref[peer]) <= ATOL, peer
    total = sum(v.item() for v in losses.values())
    assert abs(total - ref['total']) <= ATOL


def test_training_step_parameter_and_buffer_deltas(fx):
    ts = fx['train_step']
    lr = ts['optimizer']['lr']
    WD = ts['optimizer']['weight_decay']
    assert ts['optimizer']['params_not_optimized'] == ['pos_emb1D']
    peer_state = fx['state_dict']
    conv = lambda s: convert(s)[0]  # noqa: E731
    _, grads64, before64, delta64, _ = _train_step(fx, torch.float64)
    _, _, _, delta, loop = _train_step(fx, torch.float32)
    ours = peer_view(delta, peer_state, conv)
    g64 = peer_view(grads64, peer_state, conv)
    p64 = peer_view(before64, peer_state, conv)
    d64 = peer_view(delta64, peer_state, conv)
    # pos_emb1D is never optimised
    assert ours['pos_emb1D'].abs().max() == 0
    assert ts['param_delta_norms']['pos_emb1D'] == 0
    # biases right before a train-mode BatchNorm have zero loss gradient
    # (rounding noise); Adam moves them by the weight-decay step plus noise
    zero_grad = [k for k, g in g64.items() if g.norm() < 1e-10]
    checked = 0
    for key, ref in ts['param_delta_norms'].items():
        if key == 'pos_emb1D':
            continue
        if key in zero_grad:
            n = p64[key].numel()
            assert ours[key].norm().item() <= lr * math.sqrt(n) * 1.001
            assert ref <= lr * math.sqrt(n) * 1.001
            g = WD * p64[key]
            step = -lr * g / (g.abs() + 1e-8)
            assert torch.allclose(d64[key], step, rtol=1e-4, atol=1e-12)
            continue
        assert_close_rel(ours[key].norm().item(), ref, f'delta {key}')
        checked += 1
    # every tensor is checked, one way or the other
    assert checked > 0 and checked + 1 + len(
        set(zero_grad) & set(ts['param_delta_norms'])) == len(
            ts['param_delta_norms'])
    for key, ref in ts['buffer_delta_norms'].items():
        assert_close_rel(ours[key].norm().item(), ref, f'buffer {key}')
    # several BatchNorms run more than once a step
    nbt = {k: int(v) for k, v in ts['buffer_delta_norms'].items()
           if k.endswith('num_batches_tracked')}
    assert nbt['D.fc.1.num_batches_tracked'] == 6
    assert nbt['A_proj.fc.1.num_batches_tracked'] == 3
    assert nbt['W_proj.fc.1.num_batches_tracked'] == 2
    looped = peer_view(loop, peer_state, conv)
    for key, ref in ts['buffer_delta_norms_after_trainloop_get_embeddings'
                       ].items():
        got = looped[key].norm().item()
        parts = key.rsplit('.', 2)
        bias = (f'{parts[0]}.{int(parts[1]) - 1}.bias'
                if key.endswith('running_mean') else None)
        if bias in zero_grad:  # carries that bias's noisy step
            mom = 0.99 if parts[1] == '5' else 0.1
            bound = mom * 2 * lr * math.sqrt(p64[bias].numel())
            assert abs(got - ref) <= bound, (key, got, ref)
        else:
            assert_close_rel(got, ref, f'buffer after train-mode pass {key}')
