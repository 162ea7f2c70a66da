"""Tests of the registered spiking neurons (stftbox.models.neurons)."""
import pytest
import torch
from spikingjelly.activation_based import functional
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

from stftbox.models.neurons import (DynamicThresholdLIF, build_surrogate,
                                    normalized_softmax_entropy)
from stftbox.registry import MODELS, NEURONS

NEURON_TYPES = ['LIFNode', 'IFNode', 'ParametricLIFNode',
                'DynamicThresholdLIF']
SJ_CLASSES = dict(LIFNode=sj_neuron.LIFNode, IFNode=sj_neuron.IFNode,
                  ParametricLIFNode=sj_neuron.ParametricLIFNode,
                  DynamicThresholdLIF=sj_neuron.LIFNode)


def _x(*shape, scale=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g) * scale


@pytest.mark.parametrize('name', NEURON_TYPES)
def test_spikes_binary_multistep_and_rate(name):
    neuron = NEURONS.build(dict(type=name))
    assert isinstance(neuron, SJ_CLASSES[name])
    assert neuron.step_mode == 'm'
    assert neuron.firing_rate is None
    x = _x(4, 2, 3, 8)
    spikes = neuron(x)
    assert spikes.shape == x.shape
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert 0 < spikes.sum() < spikes.numel()  # not trivially silent / full
    assert float(neuron.firing_rate) == pytest.approx(spikes.mean().item())


@pytest.mark.parametrize('name', NEURON_TYPES)
def test_reset_net_restores_initial_state(name):
    neuron = NEURONS.build(dict(type=name))
    x = _x(3, 2, 8)
    first = neuron(x)
    neuron(x)
    assert isinstance(neuron.v, torch.Tensor)
    functional.reset_net(neuron)
    assert neuron.v == 0.0  # back to the reset value (a float)
    assert torch.equal(neuron(x), first)


def test_state_carries_without_reset():
    """The reset is what makes outputs batch-independent (test has teeth)."""
    neuron = NEURONS.build(dict(type='LIFNode'))
    x = torch.full((3, 1, 4), 1.5)
    first = neuron(x)   # V: 0.75, 1.125 (spike, reset), 0.75
    second = neuron(x)  # starts from V = 0.75: 1.125 (spike), 0.75, ...
    assert first[:, 0, 0].tolist() == [0.0, 1.0, 0.0]
    assert second[:, 0, 0].tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize('name', NEURON_TYPES)
def test_surrogate_by_config_and_gradient(name):
    neuron = NEURONS.build(
        dict(type=name, surrogate=dict(type='Sigmoid', alpha=3.0)))
    assert isinstance(neuron.surrogate_function, sj_surrogate.Sigmoid)
    assert neuron.surrogate_function.alpha == 3.0
    x = _x(4, 2, 8).requires_grad_()
    neuron(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_default_surrogate_is_atan():
    assert isinstance(NEURONS.build(dict(type='LIFNode')).surrogate_function,
                      sj_surrogate.ATan)
    assert isinstance(build_surrogate('PiecewiseQuadratic'),
                      sj_surrogate.PiecewiseQuadratic)


def test_unknown_surrogate_error_lists_valid_names():
    with pytest.raises(KeyError) as err:
        NEURONS.build(dict(type='LIFNode', surrogate=dict(type='NoSuch')))
    msg = str(err.value)
    assert 'NoSuch' in msg and 'ATan' in msg and 'Sigmoid' in msg


def test_wrappers_accept_int_hyperparameters():
    neuron = NEURONS.build(dict(type='LIFNode', tau=3, v_threshold=1))
    assert neuron.tau == 3.0
    plif = NEURONS.build(dict(type='ParametricLIFNode', init_tau=3))
    assert plif is not None


def test_found_through_models_with_scope_prefix():
    neuron = MODELS.build(dict(type='neurons.DynamicThresholdLIF'))
    assert isinstance(neuron, DynamicThresholdLIF)


# ------------------------------------------------------- dynamic threshold
def test_dynamic_threshold_bounds_for_extreme_inputs():
    for source in ('input', 'membrane', 'prev_output'):
        neuron = DynamicThresholdLIF(v_th_min=0.3, v_th_max=2.0,
                                     entropy_source=source, glp_weight=5.0)
        for scale in (0.0, 1e-6, 1e4, 1e6, -1e6):
            functional.reset_net(neuron)
            x = _x(3, 2, 4, 8, scale=1.0) * scale
            ctx = torch.full_like(x, scale)
            spikes = neuron(x, context=ctx)
            th = neuron.last_threshold
            assert th.shape == (3, 2, 4, 1)
            assert torch.isfinite(th).all()
            assert th.min() >= 0.3 and th.max() <= 2.0
            assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_threshold_rises_with_input_entropy():
    neuron = DynamicThresholdLIF()
    # one row per sharpness: s = 0 (uniform, entropy 1) ... s = 20 (peaked)
    sharpness = torch.tensor([0.0, 0.5, 1.0, 2.0, 5.0, 20.0])
    x = torch.zeros(1, len(sharpness), 8)
    x[..., 0] = sharpness
    entropy = normalized_softmax_entropy(x[0]).flatten()
    assert entropy[0] == pytest.approx(1.0)
    assert (entropy.diff() < 0).all()
    neuron(x)
    th = neuron.last_threshold.flatten()
    assert (th.diff() < 0).all(), th  # lower entropy -> lower threshold
    # and the high-entropy input gets a threshold above the base value
    assert th[0] > neuron.v_threshold > th[-1]


def test_threshold_rises_with_membrane_entropy_too():
    neuron = DynamicThresholdLIF(entropy_source='membrane')
    x = torch.zeros(1, 2, 8)
    x[0, 1, 0] = 10.0  # peaked -> low entropy
    neuron(x)
    th = neuron.last_threshold.flatten()
    assert th[0] > th[1]


def test_glp_context_moves_threshold():
    neuron = DynamicThresholdLIF(glp_weight=1.0)
    x = _x(2, 3, 8)
    neuron(x, context=torch.ones_like(x))
    high = neuron.last_threshold
    functional.reset_net(neuron)
    neuron(x, context=-torch.ones_like(x))
    assert (high > neuron.last_threshold).all()
    functional.reset_net(neuron)
    neuron(x)  # no context: GLP term is 0
    base = neuron.last_threshold
    assert (high > base).all()


def test_dynamic_threshold_parameters_get_gradients():
    neuron = DynamicThresholdLIF(glp_weight=0.5)
    x = _x(4, 2, 3, 8).requires_grad_()
    ctx = _x(4, 2, 3, 8, seed=1)
    neuron(x, context=ctx).sum().backward()
    for name in ('gain_raw', 'bias', 'glp_weight'):
        grad = getattr(neuron, name).grad
        assert grad is not None and grad != 0, name
    assert x.grad.abs().sum() > 0


def test_dynamic_threshold_non_learnable_uses_buffers():
    neuron = DynamicThresholdLIF(learnable=False)
    assert len(list(neuron.parameters())) == 0
    assert 'bias' in dict(neuron.named_buffers())


def test_single_step_mode_matches_multi_step():
    x = _x(5, 2, 8)
    ctx = _x(5, 2, 8, seed=3)
    for source in ('input', 'membrane', 'prev_output'):
        multi = DynamicThresholdLIF(entropy_source=source, glp_weight=0.7)
        single = DynamicThresholdLIF(entropy_source=source, glp_weight=0.7,
                                     step_mode='s')
        out_m = multi(x, context=ctx)
        out_s = torch.stack([single(x[t], context=ctx[t]) for t in range(5)])
        assert torch.equal(out_m, out_s), source


def test_uses_spikingjelly_dynamics_with_fixed_threshold():
    """With the threshold pinned to 1 it must equal spikingjelly's LIF."""

    class Pinned(DynamicThresholdLIF):

        def threshold(self, entropy, glp_stat=None):
            return torch.ones_like(entropy)

    x = _x(6, 3, 8)
    for v_reset in (0.0, None):
        ours = Pinned(v_reset=v_reset)(x)
        ref = sj_neuron.LIFNode(v_reset=v_reset, step_mode='m',
                                surrogate_function=sj_surrogate.ATan())(x)
        assert torch.equal(ours, ref)


def test_store_v_seq():
    neuron = DynamicThresholdLIF(store_v_seq=True)
    neuron(_x(4, 2, 8))
    assert neuron.v_seq.shape == (4, 2, 8)


@pytest.mark.parametrize('kwargs', [
    dict(v_th_min=0.0), dict(v_th_min=1.2), dict(v_th_max=0.9),
    dict(entropy_source='foo'), dict(entropy_gain=0.0),
    dict(entropy_temperature=-1.0)
])
def test_dynamic_threshold_invalid_options(kwargs):
    with pytest.raises(ValueError):
        DynamicThresholdLIF(**kwargs)


def test_bad_context_shape():
    neuron = DynamicThresholdLIF()
    with pytest.raises(ValueError, match='context'):
        neuron(_x(4, 2, 8), context=torch.zeros(3, 2, 8))
