"""stftbox AVMST equals the released AVMST (liwr-hit/ICME23_AVMST) number for
number on every ``avmst_*.pt`` reference fixture in
``$STFTBOX_PEER_FIXTURES`` (default tests/data/peer_fixtures; made by running
the peer's code; README_part2.md lists the conventions checked here), and
each released-code behaviour has a switch."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from peer_avmst_common import (Peer, check_eval_outputs, check_losses,
                               check_step, trainable_set_matches_peer)
from peer_fixture_utils import fixture_names, load_fixture, max_abs_diff
from stftbox.apis import register_all_modules
from stftbox.registry import MODELS

PEER = Peer('avmst')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module', params=fixture_names('avmst'))
def fx(request):
    return load_fixture(request.param)


def test_parameters_trainable_set_and_converter_round_trip(fx):
    trainable_set_matches_peer(PEER, fx)
    assert PEER.build(fx).backbone.time_steps == fx['hparams'][
        'snn_time_steps']


def test_full_published_width_parameter_count_from_config(fx):
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(
        ROOT, 'configs', 'baselines', 'avmst_ucf_main.py')).model)
    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
    assert total == fx['full_ucf_param_count']
    frozen = sum(p.numel() for k, p in params.items()
                 if 'snn' in k or k == 'backbone.pos_embed')
    assert sum(p.numel() for p in params.values() if p.requires_grad) == \
        total - frozen
    # the published counts (README_part2.md)
    assert (total, total - frozen) == (2_526_220, 1_692_508)


def test_eval_outputs(fx):
    check_eval_outputs(PEER, PEER.build(fx), fx, fx['outputs'],
                       fx['intermediates'])


def test_eval_outputs_after_perturbing_norms(fx):
    state = dict(fx['state_dict'])
    state.update(fx['perturbed_norm_state'])
    check_eval_outputs(PEER, PEER.build(fx, state), fx,
                       fx['outputs_perturbed'])


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_training_step_losses(fx, dtype):
    check_losses(PEER, fx, dtype)


def test_training_step_gradients_and_deltas(fx):
    res = check_step(PEER, fx)
    assert res['frozen'] == len(fx['train_step']['optimizer'][
        'params_not_optimized'])


def _rates(model, i, carry):
    bb = model.eval().backbone
    with torch.no_grad():
        pos = bb(i['audio'], i['video'], reset=not carry)
        neg = bb(i['audio_neg'], i['video_neg'])
    return pos, neg


def test_switch_video_rate_from_video_branch(fx):
    """``video_rate_from_audio_branch=False`` (the evident intent): every
    video step in the video branch; the released rates no longer hold."""
    i, out = fx['inputs'], fx['outputs']
    model = PEER.build(fx, video_rate_from_audio_branch=False)
    calls = []
    model.backbone.audio_snn.register_forward_hook(
        lambda *a: calls.append('a'))
    model.backbone.video_snn.register_forward_hook(
        lambda *a: calls.append('v'))
    pos, _ = _rates(model, i, carry=False)
    T = fx['hparams']['snn_time_steps']
    assert calls[:2 * T] == ['a'] * T + ['v'] * T
    assert max_abs_diff(pos['rate_a'], out['forward/phi_a1']) == 0
    assert max_abs_diff(pos['rate_v'], out['forward/phi_v1']) > 0.05


def test_switch_reset_between_positive_and_negative(fx):
    """``carry_snn_state=False`` resets before the negatives: positive
    outputs unchanged, negative rates differ from the released ones."""
    i, out = fx['inputs'], fx['outputs']
    pos, neg = _rates(PEER.build(fx), i, carry=False)
    assert max_abs_diff(pos['rate_v'], out['forward/phi_v1']) == 0
    assert max(max_abs_diff(neg['rate_a'], out['forward/phi_a_neg1']),
               max_abs_diff(neg['rate_v'], out['forward/phi_v_neg1'])) > 0.05
    model = PEER.build(fx)
    model.carry_snn_state = False
    ts = fx['train_step']['inputs']
    model.set_class_embeddings(ts['class_text'], range(5))
    model.eval()
    with torch.no_grad():
        a = model({k: ts[k] for k in ('audio', 'video', 'audio_neg',
                                      'video_neg')},
                  dict(labels=ts['labels'], neg_labels=ts['neg_labels']),
                  mode='loss')
        model.carry_snn_state = True
        b = model({k: ts[k] for k in ('audio', 'video', 'audio_neg',
                                      'video_neg')},
                  dict(labels=ts['labels'], neg_labels=ts['neg_labels']),
                  mode='loss')
    assert any(abs(a[k].item() - b[k].item()) > 1e-7 for k in a)


def test_switch_train_snn(fx):
    model = PEER.build(fx, train_snn=True)
    assert all(p.requires_grad for n, p in model.named_parameters()
               if 'snn' in n)
    with pytest.raises(ValueError, match='video_channels'):
        PEER.build(fx, audio_channels=fx['hparams']['input_size_audio'] + 1)
