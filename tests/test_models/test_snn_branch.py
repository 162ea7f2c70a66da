"""Tests of the SNN branch and the time-step factor (TSF)."""
import pytest
import torch

from stftbox.models.backbones import SNNBranch, TimeStepFactor
from stftbox.models.backbones import snn_branch as snn_module
from stftbox.models.neurons import (DynamicThresholdLIF, IFNode, LIFNode,
                                    ParametricLIFNode)
from stftbox.models.poolings import AvgPooling, GlobalLocalPooling, MaxPooling
from stftbox.models.utils import firing_rates
from stftbox.registry import MODELS

C, D, T, L = 6, 8, 4, 5


def _branch(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='SNNBranch', in_channels=C, embed_dims=D, time_steps=T)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _x(batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, L, C, generator=g) * 2


def test_output_shapes_and_defaults():
    branch = _branch()
    assert len(branch.blocks) == 3
    assert isinstance(branch.blocks[0].neuron, DynamicThresholdLIF)
    assert isinstance(branch.blocks[0].pooling, GlobalLocalPooling)
    assert isinstance(branch.tsf, TimeStepFactor)
    assert SNNBranch(C, D).time_steps == 10
    out = {}
    rates = firing_rates(branch, lambda: out.update(branch(_x())))
    assert out['embedding'].shape == (3, D)
    assert out['step_outputs'].shape == (T, 3, D)
    steps = out['step_outputs']
    assert (steps >= 0).all() and (steps <= 1).all()
    assert set(rates) == {f'blocks.{i}.neuron' for i in range(3)}
    assert all(0 < r < 1 for r in rates.values())


def test_blocks_emit_binary_spikes():
    branch = _branch()
    seen = []
    for block in branch.blocks:
        block.neuron.register_forward_hook(
            lambda m, i, o: seen.append(o.detach()))
    branch(_x())
    assert len(seen) == 3
    for spikes in seen:
        assert spikes.shape == (T, 3, L, D)
        assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_output_does_not_depend_on_previous_batch():
    branch = _branch().eval()
    x = _x(batch=2, seed=1)
    a = _x(batch=2, seed=2) * 3  # same shape, so stale state would be used
    ref = branch(x)['embedding']
    branch(a)
    assert torch.equal(branch(x)['embedding'], ref)


def test_previous_batch_leaks_without_reset(monkeypatch):
    """Sanity check that the test above can fail: drop the reset."""
    branch = _branch().eval()
    x = _x(batch=2, seed=1)
    a = _x(batch=2, seed=2) * 3
    ref = branch(x)['step_outputs']
    monkeypatch.setattr(snn_module.sj_functional, 'reset_net',
                        lambda net: None)
    branch(a)
    assert not torch.equal(branch(x)['step_outputs'], ref)


@pytest.mark.parametrize('kwargs', [
    dict(), dict(layer_type='conv1d', norm='BN'),
    dict(pooling=dict(type='MaxPooling'), tsf=None),
    dict(tsf=dict(type='TimeStepFactor', input_dependent=True))])
def test_padded_tokens_do_not_change_outputs(kwargs):
    branch = _branch(**kwargs)
    branch.train()
    if kwargs.get('norm') == 'BN':
        branch(_x(), torch.zeros(3, L, dtype=torch.bool))  # set BN stats
    branch.eval()
    x = _x()
    mask = torch.zeros(3, L, dtype=torch.bool)
    mask[1, 3:] = True
    mask[2, 1:] = True
    out = branch(x, mask)
    x_junk = x.clone()
    x_junk[mask] = 50.0
    out_junk = branch(x_junk, mask)
    for key in ('embedding', 'step_outputs'):
        assert torch.equal(out[key], out_junk[key]), key
    alone = branch(x[1:2, :3])
    assert torch.allclose(out['embedding'][1], alone['embedding'][0],
                          atol=1e-6)
    assert torch.allclose(out['step_outputs'][:, 1],
                          alone['step_outputs'][:, 0], atol=1e-6)


def test_masked_batchnorm_ignores_padded_tokens_in_training():
    branch = _branch(norm='BN').train()
    x = _x()
    mask = torch.zeros(3, L, dtype=torch.bool)
    mask[0, 2:] = True
    out = branch(x, mask)['embedding']
    x_junk = x.clone()
    x_junk[mask] = -30.0
    assert torch.equal(branch(x_junk, mask)['embedding'], out)


def test_surrogate_gradient_reaches_first_linear():
    branch = _branch()
    out = branch(_x())
    loss = out['embedding'].square().sum()
    loss.backward()
    grad = branch.blocks[0].proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0


NEURONS_SWAP = [('LIFNode', LIFNode), ('IFNode', IFNode),
                ('ParametricLIFNode', ParametricLIFNode),
                ('DynamicThresholdLIF', DynamicThresholdLIF)]
POOLINGS_SWAP = [('GlobalLocalPooling', GlobalLocalPooling),
                 ('MaxPooling', MaxPooling), ('AvgPooling', AvgPooling),
                 (None, type(None))]


@pytest.mark.parametrize('neuron_type,neuron_cls', NEURONS_SWAP)
@pytest.mark.parametrize('pooling_type,pooling_cls', POOLINGS_SWAP)
def test_swap_neuron_and_pooling_by_config(neuron_type, neuron_cls,
                                           pooling_type, pooling_cls):
    pooling = None if pooling_type is None else dict(type=pooling_type)
    branch = _branch(neuron=dict(type=neuron_type), pooling=pooling,
                     num_blocks=2)
    for block in branch.blocks:
        assert type(block.neuron) is neuron_cls
        assert type(block.pooling) is pooling_cls
    out = branch(_x(), torch.tensor([[False] * L] * 2 + [[False] * 3 +
                                                         [True] * 2]))
    loss = out['embedding'].sum() + out['step_outputs'].square().mean()
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in branch.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    assert branch.blocks[0].proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('modulation', ['gate', 'add', 'none'])
def test_modulation_options(modulation):
    branch = _branch(modulation=modulation, num_blocks=1)
    assert torch.isfinite(branch(_x())['embedding']).all()


def test_tsf_none_is_mean_over_steps():
    branch = _branch(tsf=None)
    out = branch(_x())
    assert branch.tsf is None
    assert torch.allclose(out['embedding'], out['step_outputs'].mean(0))


def test_invalid_inputs():
    branch = _branch(num_blocks=1)
    with pytest.raises(ValueError):
        branch(torch.zeros(2, L, C + 1))
    with pytest.raises(ValueError):
        branch(torch.zeros(2, L, C), torch.zeros(2, L + 1, dtype=torch.bool))
    with pytest.raises(ValueError):
        _branch(layer_type='rnn')
    with pytest.raises(ValueError):
        _branch(norm='GN')


# ------------------------------------------------------------------ TSF
def test_tsf_weights_sum_to_one():
    tsf = TimeStepFactor(time_steps=T, in_channels=D, input_dependent=True)
    with torch.no_grad():
        tsf.step_scores.normal_()
        tsf.score_proj.weight.normal_()
    steps = torch.rand(T, 3, D)
    w = tsf.weights(steps)
    assert w.shape == (T, 3)
    assert (w > 0).all()
    assert torch.allclose(w.sum(0), torch.ones(3))
    # input dependent: different samples get different weights
    assert not torch.allclose(w[:, 0], w[:, 1])
    out = tsf(steps)
    assert torch.allclose(out, (w.unsqueeze(-1) * steps).sum(0))
    assert torch.allclose(tsf.last_weights, w)


def test_uniform_tsf_equals_mean_and_learns():
    steps = torch.rand(T, 3, D)
    for tsf in (TimeStepFactor(time_steps=T),
                TimeStepFactor(time_steps=T, in_channels=D,
                               input_dependent=True),
                TimeStepFactor(time_steps=T, enabled=False)):
        assert torch.allclose(tsf(steps), steps.mean(0), atol=1e-6)
    assert len(list(TimeStepFactor(enabled=False).parameters())) == 0
    tsf = TimeStepFactor(time_steps=T)
    (tsf(steps) * torch.arange(D)).sum().backward()
    assert tsf.step_scores.grad.abs().sum() > 0


def test_tsf_errors():
    with pytest.raises(ValueError):
        TimeStepFactor(time_steps=T)(torch.rand(T + 1, 2, D))
    with pytest.raises(ValueError):
        TimeStepFactor(input_dependent=True)
    with pytest.raises(ValueError):
        TimeStepFactor(time_steps=0)


# ------------------------------------------- stated defaults, by value
def test_branch_defaults_are_the_stated_design():
    branch = SNNBranch(C, D)
    assert branch.time_steps == 10                       # [P]
    assert len(branch.blocks) == 3                       # [S]
    for block in branch.blocks:
        assert block.layer_type == 'conv1d'              # [S] Conv+LIF
        assert isinstance(block.proj, torch.nn.Conv1d)
        assert block.proj.kernel_size == (3, )           # [I] temporal
        assert block.proj.padding == (1, )
        assert block.dropout_mode == 'shared'            # [I]
        assert block.modulation == 'residual_gate'       # [S]
        assert block.pooling.form == 'paper'             # [S]
        assert block.pooling.mix_activation == 'sigmoid'  # [I]
        assert block.pooling.mix.item() == 0.5           # [I]
        assert block.neuron.entropy_source == 'prev_output'  # [S]
        assert block.neuron.uses_context
        assert isinstance(block.norm, torch.nn.LayerNorm)  # [I]
        assert block.neuron.backend == block.pooling.backend == 'auto'
    assert branch.memory_saving is False                 # [I]
    assert isinstance(branch.tsf, TimeStepFactor)        # [A]


def test_paper_config_pins_the_snn_design():
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo, 'configs/stft_vggsound.py'))
    assert cfg.model.backbone.snn_input == 'per_modality'
    snn = cfg.model.backbone.snn_branch
    assert (snn.time_steps, snn.num_blocks, snn.layer_type,
            snn.kernel_size, snn.norm) == (10, 3, 'conv1d', 3, 'LN')
    assert (snn.dropout, snn.dropout_mode) == (0.1, 'shared')
    assert snn.pooling == dict(type='GlobalLocalPooling', kernel_size=3,
                               form='paper', mix_activation='sigmoid',
                               init_mix=0.5)
    assert snn.modulation == 'residual_gate'
    assert snn.neuron.type == 'DynamicThresholdLIF'
    assert (snn.neuron.v_threshold, snn.neuron.v_th_min,
            snn.neuron.v_th_max, snn.neuron.entropy_gain,
            snn.neuron.entropy_center) == (1.0, 0.5, 1.5, 4.0, 0.5)
    model = MODELS.build(cfg.model)
    branch = model.backbone.snn_branch
    assert branch.blocks[0].neuron.entropy_source == 'prev_output'
    assert branch.blocks[0].proj.weight.shape == (512, 512, 3)


def test_shared_dropout_keeps_one_mask_for_all_steps():
    branch = _branch(dropout=0.5).train()
    seen = {}
    for i, block in enumerate(branch.blocks):
        block.drop.register_forward_hook(
            lambda m, inp, out, i=i: seen.__setitem__(i, (inp[0], out)))
    branch(_x())
    inp, out = seen[1]                                  # [T, B, L, D]
    assert inp.shape == (T, 3, L, D)
    dropped = (out == 0) & (inp != 0)
    assert dropped.any() and not dropped.all()
    kept = out != 0
    assert torch.allclose(out[kept], 2 * inp[kept])    # 1 / (1 - p)
    # the zeroed positions are the same at every step
    mask = (out / inp.masked_fill(inp == 0, 1.0)).round()
    assert torch.equal(mask, mask[:1].expand_as(mask))
    # per-step dropout draws a new mask at every step
    branch = _branch(dropout=0.5, dropout_mode='per_step').train()
    for i, block in enumerate(branch.blocks):
        block.drop.register_forward_hook(
            lambda m, inp, out, i=i: seen.__setitem__(i, (inp[0], out)))
    branch(torch.ones(3, L, C))
    inp, out = seen[1]
    mask = (out / inp.masked_fill(inp == 0, 1.0)).round()
    assert not torch.equal(mask, mask[:1].expand_as(mask))
    with pytest.raises(ValueError, match='dropout_mode must be one of'):
        _branch(dropout_mode='bogus')
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=r'dropout must be in \[0, 1\)'):
            _branch(dropout=bad)


def test_no_pooling_builds_no_context_parameters():
    branch = _branch(pooling=None)
    names = [n for n, _ in branch.named_parameters()]
    assert not any('glp_weight' in n or 'beta' in n for n in names)
    out = branch(_x())
    out['embedding'].sum().backward()
    assert all(p.grad is not None for p in branch.parameters())


def test_pooling_feeding_nothing_is_not_built():
    branch = _branch(neuron=dict(type='LIFNode'), modulation='none')
    assert all(block.pooling is None for block in branch.blocks)
    kept = _branch(neuron=dict(type='LIFNode'))  # gate uses the pooling
    assert all(block.pooling is not None for block in kept.blocks)


# ------------------------------------------------ windows within modality
@pytest.mark.parametrize('separate', [True, False])
def test_windows_do_not_straddle_the_modality_boundary(separate):
    """Video tokens' spikes do not depend on the audio tokens when the two
    run as separate sequences (every other operation is per token); they
    do when the sequences are joined."""
    from stftbox.models.backbones.snn_branch import join_modalities
    branch = _branch(num_blocks=1, kernel_size=3).eval()
    x = _x(batch=1)
    seen = []
    branch.blocks[-1].register_forward_hook(
        lambda m, i, o: seen.append(o.detach()))

    def video_spikes(audio):
        seen.clear()
        video, none = x[:, 3:], torch.zeros(1, 2, dtype=torch.bool)
        if separate:
            branch((audio, video))
            return seen[-1]
        branch(*join_modalities(audio, video, none[:, :1].expand(1, 3),
                                none))
        return seen[-1][:, :, 3:]

    audio = x[:, :3]
    other = audio.clone()
    other[0, 2] = -40.0 * audio[0, 2].sign()  # change the last audio token
    assert torch.equal(video_spikes(audio), video_spikes(other)) == separate


# ----------------------------------------------------------- memory saving
@pytest.mark.parametrize('kwargs', [dict(), dict(layer_type='linear',
                                                 pooling=None),
                                    dict(kernel_size=3, dropout=0.3)])
def test_memory_saving_gives_the_same_outputs_and_gradients(kwargs):
    x = _x()
    mask = torch.zeros(3, L, dtype=torch.bool)
    mask[2, 2:] = True
    results = []
    for saving in (False, True):
        branch = _branch(memory_saving=saving, **kwargs).train()
        torch.manual_seed(1)   # the same dropout masks in both runs
        out = branch(x, mask)
        (out['embedding'].square().sum() + out['step_outputs'].sum()
         ).backward()
        results.append((out['embedding'].detach(),
                        [p.grad.clone() for p in branch.parameters()]))
    (e0, g0), (e1, g1) = results
    assert torch.equal(e0, e1)
    assert len(g0) == len(g1)
    for a, b in zip(g0, g1):
        assert torch.allclose(a, b, atol=1e-6)
