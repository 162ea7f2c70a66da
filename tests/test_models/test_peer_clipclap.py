"""stftbox ClipClap equals the released ClipClap-GZSL ``ClipClap_model``
number for number, on every ``clipclap_*.pt`` reference fixture in
``$STFTBOX_PEER_FIXTURES`` (default tests/data/peer_fixtures; made by running
the peer's own code, README_part2.md lists the conventions checked here).
Every width, count and grid is read from the fixture."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from peer_fixture_utils import (ATOL, check_train_step, dropout_off,
                                fixture_names,
                                key_map, load_fixture, max_abs_diff,
                                peer_view, run_train_step)
from stftbox.apis import register_all_modules
from stftbox.evaluation.gzsl_metric import calibrated_predictions
from stftbox.models.converters import convert_peer_checkpoint
from stftbox.registry import METRICS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'baselines', 'clipclap_ucf.py')
_LOSSES = dict(rec_mse_w_rho_o_plus_w_rho_w='loss_reconstruction',
               reg_mse_theta_o_theta_w='loss_regression',
               cross_entropy='loss_cross_entropy')


@pytest.fixture(scope='module', params=fixture_names('clipclap'))
def fx(request):
    return load_fixture(request.param)


def convert(state):
    return convert_peer_checkpoint(state, 'clipclap')[0]


def build(fx, state=None, dtype=torch.float32):
    register_all_modules()
    sd, cfg = convert_peer_checkpoint(
        dict(state_dict=state if state is not None else fx['state_dict'],
             hparams=fx['hparams']), 'clipclap')
    model = MODELS.build(cfg)
    model.load_state_dict(sd, strict=True)
    return model.to(dtype)


def test_parameter_count_and_converter_round_trip(fx):
    model = build(fx)
    assert sum(p.numel() for p in model.parameters()) == fx['param_count']
    assert all(p.requires_grad for p in model.parameters())
    back = peer_view(model.state_dict(), fx['state_dict'], convert)
    assert set(back) == set(fx['state_dict'])
    for key, ref in fx['state_dict'].items():
        assert torch.equal(back[key].to(ref.dtype), ref), key
    h = fx['hparams']
    cfg = convert_peer_checkpoint(fx, 'clipclap')[1]
    assert cfg['backbone']['audio_channels'] == h['input_size_audio']
    assert cfg['backbone']['video_channels'] == h['input_size_video']
    assert cfg['head']['text_channels'] == h['word_embedding_dim']
    assert cfg['head']['hidden_channels'] == h['decoder_hidden_size']
    assert cfg['head']['embed_dims'] == h['dim_out']


def test_full_published_width_parameter_count_from_config(fx):
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model)
    params = list(model.parameters())
    assert sum(p.numel() for p in params) == fx['full_ucf_param_count']
    assert sum(p.numel() for p in params if p.requires_grad) == \
        fx['full_ucf_param_count']


def config_betas():
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    return METRICS.build(cfg.val_evaluator).betas


def check_eval_outputs(model, fx, outputs, intermediates=None):
    i = fx['inputs']
    model.eval()
    worst = {}
    with torch.no_grad():
        feats = model.backbone(i['audio'], i['video'])
        fwd = model.head.forward_train(feats, i['text'])
        assert {'forward/' + k for k in fwd} == {
            k for k in outputs if k.startswith('forward/')}
        worst['forward'] = max(max_abs_diff(v, outputs['forward/' + k])
                               for k, v in fwd.items())
        model.set_class_embeddings(i['class_text'], i['seen_class_ids'])
        emb = model({'audio': i['audio'], 'video': i['video']},
                    mode='tensor')
        a, v, w = model.head.embed(emb, i['class_text'])
        got = dict(audio_emb=a, video_emb=v, class_emb=w)
        assert {'get_embeddings/' + k for k in got} == {
            k for k in outputs if k.startswith('get_embeddings/')}
        worst['get_embeddings'] = max(
            max_abs_diff(t, outputs['get_embeddings/' + k])
            for k, t in got.items())
        if intermediates is not None:
            inter = {'forward': dict(
                O_enc_in=feats['encoder_in'], O_enc_out=feats['embedding'],
                W_enc_in=model.head.select_text(i['text']),
                W_enc_out=fwd['w']), 'get_embeddings': dict(
                O_enc_in=emb['encoder_in'], O_enc_out=emb['embedding'],
                W_enc_in=model.head.select_text(i['class_text']),
                W_enc_out=model.head.encode_text(i['class_text']))}
            n = 0
            diffs = []
            for path, ref in intermediates.items():
                for key, t in ref.items():
                    diffs.append(max_abs_diff(inter[path][key], t))
                    n += 1
            assert n == sum(len(v) for v in inter.values())
            worst['intermediates'] = max(diffs)
        preds = model({'audio': i['audio'], 'video': i['video']},
                      dict(labels=i['targets']), mode='predict')
        dist = torch.stack([p['distances'] for p in preds])
        worst['eval_distance'] = max_abs_diff(dist, outputs['eval_distance'])
    seen, unseen = i['seen_class_ids'], i['unseen_class_ids']
    betas = config_betas()
    assert len(betas) == len(outputs['eval_betas'])
    assert max_abs_diff(torch.as_tensor(betas).float(),
                        outputs['eval_betas'].float()) < 1e-6
    gzsl = torch.stack([calibrated_predictions(dist, seen, unseen, float(b))
                        for b in betas])
    assert torch.equal(gzsl, outputs['eval_gzsl_pred_per_beta'])
    zsl = calibrated_predictions(dist, [], unseen, 0.0)
    assert torch.equal(zsl.expand(len(betas), -1),
                       outputs['eval_zsl_pred_per_beta'])
    for group, diff in worst.items():
        assert diff <= ATOL, f'{group}: max |ours - peer| = {diff:.3g}'
    return worst


def test_eval_outputs(fx):
    check_eval_outputs(build(fx), fx, fx['outputs'], fx['intermediates'])


def test_eval_outputs_after_perturbing_norms(fx):
    state = dict(fx['state_dict'])
    state.update(fx['perturbed_norm_state'])
    check_eval_outputs(build(fx, state), fx, fx['outputs_perturbed'])


def test_video_first_concatenation(fx):
    model = build(fx).eval()
    i = fx['inputs']
    with torch.no_grad():
        x = model.backbone(i['audio'], i['video'])['encoder_in']
    assert torch.equal(x[:, :i['video'].shape[1]], i['video'])


def _run(fx, dtype):
    ts = fx['train_step']
    i = ts['inputs']
    model = build(fx, dtype=dtype)
    model.set_class_embeddings(i['class_text'].to(dtype),
                               range(len(i['class_text'])))
    inputs = {k: i[k].to(dtype) for k in ('audio', 'video')}
    names = key_map(fx['state_dict'], convert)
    frozen = {k for k, v in names.items()
              if v in ts['optimizer']['params_not_optimized']}
    return run_train_step(model, ts, inputs, dict(labels=i['labels']),
                          frozen)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_training_step_losses(fx, dtype):
    ref = fx['train_step']['losses']
    losses = _run(fx, dtype)[0]
    assert set(losses) == set(_LOSSES.values())
    assert set(ref) == set(_LOSSES) | {'total'}
    for peer, ours in _LOSSES.items():
        assert abs(losses[ours].item() - ref[peer]) <= ATOL, peer
    total = sum(v.item() for v in losses.values())
    assert abs(total - ref['total']) <= ATOL


def test_training_step_gradients_and_deltas(fx):
    res = check_train_step(fx['train_step'], fx['state_dict'], convert,
                           lambda dt: _run(fx, dt), lambda key: 0.1)
    assert res['checked'] > 0


def test_detached_target_switch_changes_only_text_encoder_gradient(fx):
    """``detach_target=True`` (the evident intent) removes the
    reconstruction loss's pull on ``text_encoder`` through its target."""
    ts = fx['train_step']
    i = ts['inputs']
    grads = {}
    for detach in (False, True):
        model = build(fx)
        model.head.detach_target = detach
        model.set_class_embeddings(i['class_text'], range(5))
        dropout_off(model)
        losses = model({'audio': i['audio'], 'video': i['video']},
                       dict(labels=i['labels']), mode='loss')
        losses['loss_reconstruction'].backward()
        grads[detach] = {k: p.grad.clone() for k, p in
                         model.named_parameters() if p.grad is not None}
    enc = 'head.text_encoder.layers.0.weight'
    assert not torch.allclose(grads[False][enc], grads[True][enc])
    dec = 'head.clip_decoder.layers.4.weight'
    assert torch.allclose(grads[False][dec], grads[True][dec])
