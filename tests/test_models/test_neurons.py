"""Tests of the registered spiking neurons (stftbox.models.neurons)."""
import pytest
import torch
from spikingjelly.activation_based import functional
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

from stftbox.models.neurons import (DynamicThresholdLIF, build_surrogate,
                                    normalized_softmax_entropy)
from stftbox.ops.row_chunks import row_chunks
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
    x = _x(4, 2, 3, 8)
    spikes = neuron(x)
    assert spikes.shape == x.shape
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert 0 < spikes.sum() < spikes.numel()  # not trivially silent / full


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
    neuron = DynamicThresholdLIF(entropy_source='input')
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


@pytest.mark.parametrize('source', ['prev_output', 'input'])
def test_glp_context_moves_threshold(source):
    """Larger GLP cue -> higher threshold (b > 0). With 'prev_output' the
    later steps also depend on the earlier spikes, so step 0 is compared."""
    neuron = DynamicThresholdLIF(glp_weight=1.0, entropy_source=source)
    steps = slice(None) if source == 'input' else slice(0, 1)
    x = _x(2, 3, 8)
    neuron(x, context=torch.ones_like(x))
    high = neuron.last_threshold[steps]
    functional.reset_net(neuron)
    neuron(x, context=-torch.ones_like(x))
    assert (high > neuron.last_threshold[steps]).all()
    functional.reset_net(neuron)
    neuron(x)  # no context: GLP term is 0
    base = neuron.last_threshold[steps]
    assert (high > base).all()


@pytest.mark.parametrize('source', ['prev_output', 'input', 'membrane'])
def test_dynamic_threshold_parameters_get_gradients(source):
    neuron = DynamicThresholdLIF(glp_weight=0.5, entropy_source=source)
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
        ours = Pinned(v_reset=v_reset, entropy_source='input')(x)
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


# ------------------------------------- stated defaults and the fused kernel
def test_dynamic_threshold_defaults_are_the_stated_design():
    """[S] entropy of the step output drives the threshold (causal: the
    previous step's output); [I] values pinned by value."""
    neuron = NEURONS.build(dict(type='DynamicThresholdLIF'))
    assert neuron.entropy_source == 'prev_output'
    assert (neuron.v_th_min, neuron.v_threshold, neuron.v_th_max) == (
        0.5, 1.0, 1.5)
    assert neuron.tau == 2.0 and neuron.v_reset == 0.0
    assert neuron.uses_context
    assert torch.nn.functional.softplus(neuron.gain_raw).item() == \
        pytest.approx(4.0)
    assert neuron.glp_weight.item() == 0.0
    assert neuron.entropy_center == 0.5
    # V_th = v_threshold at E = c, g = 0
    assert neuron.threshold(torch.tensor(0.5)).item() == pytest.approx(1.0)
    # first step after a reset: E_0 = 0 -> V_th = 0.5 + sigmoid(-2)
    x = torch.zeros(2, 1, 4)
    neuron(x)
    th = neuron.last_threshold[:, 0, 0]
    assert th[0].item() == pytest.approx(
        0.5 + torch.sigmoid(torch.tensor(-2.0)).item(), abs=1e-6)


def test_prev_output_threshold_reads_previous_step_entropy():
    """Step 1's threshold follows the Bernoulli entropy (bits) of the
    fraction of channels that fired at step 0: half firing -> E = 1."""
    neuron = DynamicThresholdLIF()
    x = torch.zeros(2, 2, 4)
    x[0, 0, :2] = 10.0   # token 0: 2 of 4 channels fire -> rate 0.5, E = 1
    x[0, 1, :] = 10.0    # token 1: all fire -> rate 1, E = 0
    spikes = neuron(x)
    assert spikes[0, 0].tolist() == [1.0, 1.0, 0.0, 0.0]
    th = neuron.last_threshold[1, :, 0]
    expect_hi = 0.5 + torch.sigmoid(torch.tensor(4.0 * 0.5)).item()
    expect_lo = 0.5 + torch.sigmoid(torch.tensor(-4.0 * 0.5)).item()
    assert th.tolist() == pytest.approx([expect_hi, expect_lo], abs=1e-6)
    assert neuron.prev_rate[:, 0].tolist() == [0.0, 0.0]  # step 1 silent


def _run(neuron, x, ctx, weight, fast=True):
    if not fast:
        neuron.backend = 'torch'
    x = x.clone().requires_grad_()
    c = ctx.clone().requires_grad_()
    out = neuron(x.expand(weight.shape), context=c)
    (out * weight).sum().backward()
    grads = {k: p.grad.clone() for k, p in neuron.named_parameters()}
    return out.detach(), neuron.last_threshold, x.grad, c.grad, grads


@pytest.mark.parametrize('source', ['prev_output', 'input'])
@pytest.mark.parametrize('v_reset', [0.0, None])
@pytest.mark.parametrize('detach_reset', [False, True])
@pytest.mark.parametrize('steps_in', [1, 5])
def test_fused_kernel_equals_autograd_reference(source, v_reset,
                                                detach_reset, steps_in):
    """The hand-written backward equals autograd through the reference loop
    (also for an input that is the same at every step, read once)."""
    x = _x(steps_in, 3, 4, 16)
    ctx = _x(5, 3, 4, 16, seed=1, scale=1.0)
    weight = _x(5, 3, 4, 16, seed=2, scale=1.0)
    kwargs = dict(entropy_source=source, v_reset=v_reset, glp_weight=0.7,
                  detach_reset=detach_reset)
    fast = _run(DynamicThresholdLIF(backend='fused', **kwargs), x, ctx,
                weight)
    ref = _run(DynamicThresholdLIF(backend='torch', **kwargs), x, ctx,
               weight)
    assert torch.equal(fast[0], ref[0])
    assert 0 < fast[0].mean() < 1
    assert torch.allclose(fast[1], ref[1])
    assert torch.allclose(fast[2], ref[2], atol=1e-6)
    assert torch.allclose(fast[3], ref[3], atol=1e-6)
    assert fast[2].abs().sum() > 0
    for name, grad in ref[4].items():
        assert torch.allclose(fast[4][name], grad, atol=1e-5), name


def test_fused_kernel_is_used_by_default(monkeypatch):
    from stftbox.models.neurons import dynamic_threshold_lif as module
    calls = []
    orig = module.DynamicThresholdLIFFunction.apply
    monkeypatch.setattr(module.DynamicThresholdLIFFunction, 'apply',
                        lambda *a: calls.append(a[0].shape) or orig(*a))
    neuron = DynamicThresholdLIF()
    base = _x(1, 2, 3, 8)
    neuron(base.expand(4, 2, 3, 8))
    # the stride-0 input over T is read once: [1, N, C], not [T, N, C]
    assert calls == [torch.Size([1, 6, 8])]
    DynamicThresholdLIF(entropy_source='membrane')(_x(4, 2, 8))
    assert len(calls) == 1  # 'membrane' runs the reference loop
    DynamicThresholdLIF(backend='torch')(base.expand(4, 2, 3, 8))
    assert len(calls) == 1  # the reference backend
    assert DynamicThresholdLIF.supported_backends == ('torch', 'fused')
    with pytest.raises(NotImplementedError, match="backend='fused'"):
        DynamicThresholdLIF(entropy_source='membrane',
                            backend='fused')(_x(4, 2, 8))
    with pytest.raises(ValueError, match="backend must be 'auto'"):
        DynamicThresholdLIF(backend='cupy')


def test_silent_tokens_give_finite_gradients():
    """Entropy slope is clamped: a token that never fires (rate 0) gives
    finite gradients (H_b has an infinite slope at 0)."""
    neuron = DynamicThresholdLIF(glp_weight=0.3)
    x = _x(6, 2, 3, 16, scale=0.3).requires_grad_()  # mostly silent
    x.data[:, 0] = -5.0                              # sample 0 silent
    out = neuron(x, context=torch.ones_like(x))
    (out.sum() + out[:, 1].square().sum()).backward()
    assert torch.isfinite(x.grad).all()
    for p in neuron.parameters():
        assert torch.isfinite(p.grad).all()


def test_no_context_builds_no_glp_weight():
    neuron = DynamicThresholdLIF(uses_context=False)
    assert 'glp_weight' not in dict(neuron.named_parameters())
    assert not neuron.uses_context
    x = _x(3, 2, 8)
    # a context is ignored
    ref = neuron(x)
    functional.reset_net(neuron)
    assert torch.equal(neuron(x, context=torch.full_like(x, 9.0)), ref)


# ----------------------------------- the fused kernel against autograd, direct
def _kernel_reference(x, v0, theta, zs, a, r0, steps, tau, decay_input,
                      v_reset, detach_reset, surrogate, v_min, span, eps,
                      detach_cue):
    """Step-by-step autograd loop with spikingjelly's charge / reset
    equations and the surrogate module: what the fused kernel computes."""
    from stftbox.ops.dynamic_threshold_lif import \
        binary_entropy_bits
    v, r, spikes, thetas = v0, r0, [], []
    for t in range(steps):
        h = functional.lif_charge(x[t if x.shape[0] > 1 else 0], v, tau,
                                  decay_input, v_reset)
        if theta is None:
            ent = binary_entropy_bits(r, eps)
            ent = ent.detach() if detach_cue else ent
            th = v_min + span * torch.sigmoid(
                a * ent + zs[t if zs.shape[0] > 1 else 0])
        else:
            th = theta[t if theta.shape[0] > 1 else 0]
        s = surrogate(h - th)
        v = functional.voltage_reset(h, s, th, v_reset, detach_reset)
        r = s.mean(-1, keepdim=True)
        spikes.append(s)
        thetas.append(th)
    return torch.stack(spikes), torch.stack(thetas), v


_SURROGATES = dict(atan=lambda: sj_surrogate.ATan(alpha=2.0),
                   atan3=lambda: sj_surrogate.ATan(alpha=3.0),
                   sigmoid=lambda: sj_surrogate.Sigmoid(alpha=4.0),
                   pwq=lambda: sj_surrogate.PiecewiseQuadratic(alpha=1.0))


@pytest.mark.parametrize('sg', list(_SURROGATES))
@pytest.mark.parametrize('v_reset', [0.0, None, -0.3])
@pytest.mark.parametrize('detach_reset', [False, True])
@pytest.mark.parametrize('steps_in', [1, 6])
@pytest.mark.parametrize('tau,decay_input', [(2.0, True), (3.0, True),
                                             (2.0, False)])
@pytest.mark.parametrize('mode', ['recurrent', 'recurrent_detach_cue',
                                  'theta_1', 'theta_T'])
def test_fused_kernel_function_equals_autograd(sg, v_reset, detach_reset,
                                               steps_in, tau, decay_input,
                                               mode):
    """DynamicThresholdLIFFunction (buffers reused, float masks, in-place
    surrogate derivative for ATan / Sigmoid, generic ``backward`` for the
    others) equals autograd through the step-by-step reference: spikes and
    thresholds exactly (hence also ``v_T``), gradients of ``x``, ``v0``,
    ``theta`` / ``zs``, ``a`` up to float32 rounding."""
    from stftbox.ops.dynamic_threshold_lif import (
        DynamicThresholdLIFFunction, surrogate_backward_args)
    steps, num, chans = 6, 5, 24
    surrogate = _SURROGATES[sg]()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(steps_in, num, chans, generator=g) * 1.5 + 0.4
    v0 = torch.randn(num, chans, generator=g) * 0.3
    w = torch.randn(steps, num, chans, generator=g)
    recurrent = mode.startswith('recurrent')
    if recurrent:
        theta, zs = None, torch.randn(steps, num, 1, generator=g)
        a, r0 = torch.tensor(1.7), torch.rand(num, 1, generator=g)
    else:
        t_theta = 1 if mode == 'theta_1' else steps
        theta = torch.rand(t_theta, num, 1, generator=g) + 0.5
        zs = a = r0 = None
    detach_cue = mode == 'recurrent_detach_cue'
    opts = (steps, tau, decay_input, v_reset, detach_reset)
    tail = (0.5, 1.0, 1.0 / 48, detach_cue)

    def leaves():
        return [None if t is None else t.clone().requires_grad_()
                for t in (x, v0, theta, zs, a)]

    fast_in = leaves()
    spikes, ths, v_last, _ = DynamicThresholdLIFFunction.apply(
        *fast_in, r0, *opts, surrogate_backward_args(surrogate), *tail)
    (spikes * w).sum().backward()
    ref_in = leaves()
    ref_s, ref_th, ref_v = _kernel_reference(
        *ref_in, r0, *opts, surrogate, *tail)
    (ref_s * w).sum().backward()
    assert torch.equal(spikes, ref_s)
    assert 0 < spikes.mean() < 1
    assert torch.allclose(ths, ref_th, atol=1e-6, rtol=0)
    assert torch.allclose(v_last, ref_v, atol=1e-6, rtol=0)
    for name, f, r in zip(('x', 'v0', 'theta', 'zs', 'a'), fast_in, ref_in):
        if f is None:
            continue
        scale = r.grad.abs().max().clamp_min(1.0)
        assert torch.allclose(f.grad, r.grad, rtol=0,
                              atol=2e-6 * scale.item()), name
    assert fast_in[0].grad.abs().sum() > 0
    # the same forward without a backward pass (one reused H buffer)
    with torch.no_grad():
        spikes_ng, ths_ng, v_ng, _ = DynamicThresholdLIFFunction.apply(
            x, v0, theta, zs, a, r0, *opts,
            surrogate_backward_args(surrogate), *tail, False)
    assert torch.equal(spikes_ng, spikes) and torch.equal(ths_ng, ths)
    assert torch.equal(v_ng, v_last)


@pytest.mark.parametrize('dim', [-1, 1])
def test_tanh_mean_equals_autograd(dim):
    """The GLP cue's op: values and gradient those of autograd through
    ``tanh(x).mean(dim, keepdim=True)`` (to float32 rounding: it computes
    ``2 sigmoid(2x) - 1``), and an exact gradient (gradcheck, float64)."""
    from stftbox.ops.dynamic_threshold_lif import tanh_mean
    x = _x(3, 4, 5, 16, scale=1.5)
    w = _x(3, 4, 5, 16, seed=1).mean(dim, keepdim=True)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a = tanh_mean(a, dim)
    out_b = torch.tanh(b).mean(dim, keepdim=True)
    (out_a * w).sum().backward()
    (out_b * w).sum().backward()
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=1e-6)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7)
    xd = x.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: tanh_mean(t, dim), (xd, ))


@pytest.mark.parametrize('kwargs', [
    dict(), dict(v_reset=None), dict(entropy_source='input'),
    dict(surrogate=dict(type='Sigmoid', alpha=4.0)), dict(decay_input=False)])
def test_row_chunks_of_the_kernel_give_the_same_result(kwargs, monkeypatch):
    """The fused kernel runs all T steps of one chunk of neurons before the
    next chunk: several chunks (a partial last one included) give the
    spikes, thresholds and states of one chunk, and the same gradients."""
    import stftbox.ops.dynamic_threshold_lif as op
    x = _x(5, 3, 7, 16, scale=1.5)
    ctx = _x(5, 3, 7, 16, seed=2)
    w = _x(5, 3, 7, 16, seed=3)
    results = []
    for chunk in (op.CHUNK_ELEMENTS, 16 * 4):
        monkeypatch.setattr(op, 'CHUNK_ELEMENTS', chunk)
        chunks = row_chunks(21, 16, op.CHUNK_ELEMENTS)
        assert (len(chunks) > 1) == (chunk == 64)
        torch.manual_seed(0)
        n = DynamicThresholdLIF(**kwargs)
        xr, cr = x.clone().requires_grad_(), ctx.clone().requires_grad_()
        s = n(xr, context=cr)
        (s * w).sum().backward()
        results.append((s.detach(), n.last_threshold, n.v.detach(),
                        xr.grad, cr.grad,
                        [p.grad for p in n.parameters()]))
    one, many = results
    for a, b in zip(one[:3], many[:3]):
        assert torch.equal(a, b)
    for a, b in zip(one[3:5] + tuple(one[5]), many[3:5] + tuple(many[5])):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_tanh_mean_row_chunks_give_the_same_result(monkeypatch):
    """Chunked rows (several, a partial last one) give the values and
    gradient of one chunk (to the last bit but for the odd element that a
    vectorised and a scalar loop round differently)."""
    import stftbox.ops.dynamic_threshold_lif as op
    from stftbox.ops.dynamic_threshold_lif import tanh_mean
    x = _x(3, 4, 5, 16, scale=1.5)
    w = _x(3, 4, 5, 1, seed=1)
    results = []
    for chunk in (op.CHUNK_ELEMENTS, 16 * 7):
        monkeypatch.setattr(op, 'CHUNK_ELEMENTS', chunk)
        xr = x.clone().requires_grad_()
        out = tanh_mean(xr, -1)
        (out * w).sum().backward()
        results.append((out.detach(), xr.grad))
    assert len(row_chunks(60, 16, op.CHUNK_ELEMENTS)) > 1
    for one, many in zip(*results):
        torch.testing.assert_close(one, many, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize('name', NEURON_TYPES)
@pytest.mark.parametrize('store_v_seq', [False, True])
def test_deepcopy_after_a_training_forward(name, store_v_seq):
    # after a forward with gradients the membrane potential is a non-leaf
    # tensor of the graph; copy.deepcopy (EMA, keep-the-best) must work
    import copy
    neuron = NEURONS.build(dict(type=name, store_v_seq=store_v_seq))
    x = _x(4, 2, 8).requires_grad_()
    neuron(x).sum().backward()
    # the state the copy protocol refuses (the fused dynamic-threshold
    # kernel keeps its state detached already)
    attached = not neuron.v.is_leaf
    assert attached or (name == 'DynamicThresholdLIF' and not store_v_seq)
    twin = copy.deepcopy(neuron)
    assert twin is not neuron and twin.v.is_leaf
    assert torch.equal(twin.v, neuron.v.detach())
    assert (not neuron.v.is_leaf) == attached  # the original unchanged
    for a, b in zip(neuron.parameters(), twin.parameters()):
        assert torch.equal(a, b) and a is not b
    functional.reset_net(neuron)
    functional.reset_net(twin)
    y = _x(4, 2, 8, seed=1)
    assert torch.equal(neuron(y), twin(y))
