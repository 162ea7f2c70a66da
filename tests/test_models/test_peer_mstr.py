"""stftbox MSTR equals the released MSTR (xia-zhe/MSTR) number for number on
every ``mstr_*.pt`` reference fixture in ``$STFTBOX_PEER_FIXTURES`` (default
tests/data/peer_fixtures; made by running the peer's code; README_part2.md
lists the conventions checked here). The released forward only trains with
a fixed batch (256); stftbox's takes any batch and, on the fixture's batch,
equals the released behaviour."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from peer_avmst_common import (Peer, check_eval_outputs, check_losses,
                               check_step, trainable_set_matches_peer)
from peer_fixture_utils import fixture_names, load_fixture, max_abs_diff
from stftbox.apis import register_all_modules
from stftbox.registry import MODELS

PEER = Peer('mstr')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module', params=fixture_names('mstr'))
def fx(request):
    return load_fixture(request.param)


def test_parameters_trainable_set_and_converter_round_trip(fx):
    trainable_set_matches_peer(PEER, fx)
    bb = PEER.build(fx).backbone
    assert bb.time_steps == fx['hparams']['snn_time_steps']
    assert tuple(bb.trl_audio.core.shape) == tuple(
        fx['state_dict']['trl_a.core'].shape)


def test_full_published_width_parameter_count_from_config(fx):
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'baselines',
                                   'mstr_ucf_main.py'))
    model = MODELS.build(cfg.model)
    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
    assert total == fx['full_ucf_param_count']
    frozen = sum(p.numel() for k, p in params.items()
                 if k.startswith('backbone.pos_embed'))
    assert sum(p.numel() for p in params.values() if p.requires_grad) == \
        total - frozen
    assert (total, total - frozen) == (3_356_426, 3_355_226)
    # the released fixed training batch is the config default
    assert cfg.model.backbone.train_batch_size == 256
    assert cfg.train_dataloader.batch_size == 256


def test_eval_outputs(fx):
    check_eval_outputs(PEER, PEER.build(fx), fx, fx['outputs'],
                       fx['intermediates'])


def test_eval_outputs_after_perturbing_norms(fx):
    state = dict(fx['state_dict'])
    state.update(fx['perturbed_norm_state'])
    check_eval_outputs(PEER, PEER.build(fx, state), fx,
                       fx['outputs_perturbed'])


def test_training_step_losses(fx):
    check_losses(PEER, fx, torch.float32)


def test_training_step_gradients_and_deltas(fx):
    res = check_step(PEER, fx)
    assert res['frozen'] == len(fx['train_step']['optimizer'][
        'params_not_optimized'])


def test_tucker_regression_is_a_linear_map(fx):
    """``<x, W> + b`` with ``W = f0 . core . f3^T * f1 * f2``: the layer is
    the 512 -> 300 linear map the README describes."""
    sd = fx['state_dict']
    layer = PEER.build(fx).backbone.trl_audio
    core = sd['trl_a.core'].double()
    w = (sd['trl_a.factor_0'].double() @ core.reshape(core.shape[0], -1) @
         sd['trl_a.factor_3'].double().t()) * (
        sd['trl_a.factor_1'] * sd['trl_a.factor_2']).double()
    x = fx['inputs']['audio'][:8]
    with torch.no_grad():
        got = layer(x).double()
    assert max_abs_diff(got, x.double() @ w + sd['trl_a.bias'].double()) \
        < 1e-5


def _loss(model, ts, rows=None):
    sel = slice(None) if rows is None else slice(0, rows)
    inputs = {k: ts[k][sel] for k in ('audio', 'video', 'audio_neg',
                                      'video_neg')}
    return model(inputs, dict(labels=ts['labels'][sel],
                              neg_labels=ts['neg_labels'][sel]),
                 mode='loss')


def test_fixed_training_batch_switch(fx):
    """``train_batch_size=<fixture batch>`` (released; the training tests
    above run with it and equal the peer) and ``None`` (any batch) give
    identical losses on the fixture's batch; another batch fails with the
    fixed size and runs without it."""
    ts = fx['train_step']['inputs']
    batch = len(ts['audio'])
    losses = {}
    for fixed in (batch, None):
        model = PEER.build(fx, train_batch_size=fixed)
        model.set_class_embeddings(ts['class_text'], range(5))
        model.eval()
        with torch.no_grad():
            losses[fixed] = _loss(model, ts)
            if fixed:
                with pytest.raises(ValueError, match='train_batch_size'):
                    _loss(model, ts, rows=4)
            else:
                small = _loss(model, ts, rows=4)
    assert set(losses[batch]) == set(losses[None])
    assert all(torch.equal(losses[batch][k], losses[None][k])
               for k in losses[None])
    assert all(torch.isfinite(v) for v in small.values())


def test_evaluation_is_row_wise(fx):
    """Any batch size at evaluation: 8 rows give the rows of the full
    batch (as the released ``get_embeddings``)."""
    i = fx['inputs']
    model = PEER.build(fx).eval()
    with torch.no_grad():
        small = model.backbone(i['audio'][:8], i['video'][:8])['video']
        full = model.backbone(i['audio'], i['video'])['video'][:8]
    assert max_abs_diff(small, full) < 1e-5
