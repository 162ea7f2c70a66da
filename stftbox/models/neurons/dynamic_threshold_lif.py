"""LIF neuron whose threshold adapts per time step (STFT's dynamic threshold).

Source: Li et al., STFT (IEEE TIP 2024), abstract [A]: the threshold of each
neuron layer is adjusted from semantic and temporal cues; published summaries
[S]: from the information content (entropy) of the current step's output and
the GLP statistics, higher entropy -> higher threshold, V_th positive and
bounded. The exact formula is not public; the one below is our reading [I]
and every inferred detail is a constructor option (see
:class:`DynamicThresholdLIF`).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import base as sj_base
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import neuron as sj_neuron

from stftbox.ops.backend import check_backend, use_fused
from stftbox.registry import NEURONS
from .base import DEFAULT_SURROGATE, SpikeRecordMixin, build_surrogate
from stftbox.ops.dynamic_threshold_lif import (DynamicThresholdLIFFunction,
                                   binary_entropy_bits,
                                   surrogate_backward_args, tanh_mean)

__all__ = ['DynamicThresholdLIF', 'normalized_softmax_entropy']

_ENTROPY_SOURCES = ('prev_output', 'input', 'membrane')


def normalized_softmax_entropy(x: torch.Tensor, dim: int = -1,
                               temperature: float = 1.0) -> torch.Tensor:
    """Shannon entropy of ``softmax(x / temperature)`` along ``dim``,
    divided by ``log(size)`` so that it lies in [0, 1] (1 = uniform, i.e.
    no channel stands out; 0 = one-hot). [I] reading of "information
    content of the current step" (docs/method.md, dynamic threshold [S]).

    Args:
        x (Tensor): any shape ``[..., C, ...]``.
        dim (int): the channel axis to take the distribution over.
        temperature (float): softmax temperature, > 0 (unit of ``x``).

    Returns:
        Tensor: shape of ``x`` with ``dim`` kept as size 1; zeros when the
        axis has size 1.
    """
    size = x.shape[dim]
    if size <= 1:
        return torch.zeros_like(x.narrow(dim, 0, 1))
    logp = F.log_softmax(x / temperature, dim=dim)
    ent = -(logp.exp() * logp).sum(dim=dim, keepdim=True)
    return ent / math.log(size)


def _time_base(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """``t[:1]`` when ``t [T, ...]`` is the same at every step (a stride-0
    ``expand`` along ``T``, as STFT's first block gets under direct
    encoding), else ``t``: work that is equal at every step is done once."""
    if t is not None and t.dim() > 0 and t.shape[0] > 1 \
            and t.stride(0) == 0:
        return t[:1]
    return t


@NEURONS.register_module()
class DynamicThresholdLIF(SpikeRecordMixin, sj_neuron.LIFNode):
    r"""LIF neuron with a per-step, entropy- and GLP-driven threshold.

    Subclass of spikingjelly's ``neuron.LIFNode``: charge, fire (the
    surrogate Heaviside of ``H - V_th``) and reset are spikingjelly's LIF
    equations; only ``V_th`` becomes a tensor recomputed at every step.
    States live in spikingjelly memories, so ``functional.reset_net`` resets
    them.

    Threshold at step ``t`` [I], one value per token (broadcast over the
    channel axis):

    .. math::
        z_t = \mathrm{softplus}(a)\,(E_t - c) + b\,g_t + d, \qquad
        V_{th,t} = V_{min} + (V_{max} - V_{min})\,\sigma(z_t)

    * ``E_t`` in [0, 1]: entropy (semantic cue) chosen by
      ``entropy_source``:

      - ``'prev_output'`` (default, [S] "entropy of the step's output"):
        the Bernoulli entropy in bits of the fraction of channels that
        fired, ``H_b(mean_c S)``. Approximation, stated precisely: the
        threshold of step ``t`` reads the output of step ``t - 1`` (the
        output of step ``t`` depends on ``V_th,t`` itself, so a causal
        neuron can only read the previous one); ``E_0 = 0`` after a reset.
        Gradients flow from ``V_th,t`` back to the spikes of step ``t - 1``
        through the surrogate; ``dH_b/dp`` is taken at ``p`` clamped to
        ``[1 / (2C), 1 - 1 / (2C)]`` (``C`` channels) so that silent or
        saturated tokens get a finite slope.
      - ``'input'`` ([I], the earlier default): normalised entropy of
        ``softmax(X_t / temperature)`` over channels.
      - ``'membrane'`` ([I]): the same of the charged potential ``H_t``.
    * ``g_t = mean_c tanh(P_t)`` in [-1, 1]: the GLP statistic (temporal /
      local cue, [S]), ``P`` being the ``context`` passed to ``forward``
      (the GLP output of the block); 0 when no context is given.
    * ``softplus(a) > 0`` makes the threshold rise with entropy ([S]);
      ``b`` (GLP weight) and ``d`` (bias) are free; ``d`` starts so that
      ``V_th = v_threshold`` at ``E = c, g = 0``.
    * the sigmoid keeps ``V_th`` in ``[v_th_min, v_th_max]`` (positive,
      bounded, [S]) for any input, however large.

    Backends (spikingjelly's convention, ``supported_backends``):
    ``'torch'`` is the step-by-step loop above in autograd (the
    reference); ``'fused'`` is :class:`~stftbox.ops.dynamic_threshold_lif.
    DynamicThresholdLIFFunction`, spikingjelly's fused-LIF construction (no
    autograd graph per step, hand-written backward) with the tensor
    threshold, for multi-step mode with channels last (``channel_dim=-1``),
    a spikingjelly surrogate with a static ``backward`` (ATan, Sigmoid,
    ...) and ``entropy_source`` ``'prev_output'`` or ``'input'``, without
    ``store_v_seq``; ``'auto'`` (default) is fused where it applies. Same
    values; gradients equal up to float rounding.
    An input (and context) that is the same at every step, i.e. expanded
    along ``T`` with stride 0, is read once: the entropy and GLP cue are
    computed on ``[1, ...]`` and the input is never materialised over
    ``T``.

    Args:
        tau (float): membrane time constant in steps (> 1). Default 2.0.
        decay_input (bool): LIF input decay (spikingjelly). Default True.
        v_threshold (float): threshold at mid entropy, strictly between
            ``v_th_min`` and ``v_th_max``. Default 1.0.
        v_th_min (float): lower bound of ``V_th``, > 0. Default 0.5 [I].
        v_th_max (float): upper bound of ``V_th``. Default 1.5 [I].
        v_reset (float | None): reset potential; None = soft reset (subtract
            the current ``V_th``). Default 0.0.
        surrogate (dict | str | Module | None): surrogate gradient config,
            default ``dict(type='ATan', alpha=2.0)`` [I].
        detach_reset (bool): detach the reset path. Default False.
        step_mode (str): ``'m'`` (default, ``[T, B, ...]``) or ``'s'``.
        store_v_seq (bool): keep ``v_seq`` ``[T, B, ...]`` in ``'m'`` mode.
        entropy_source (str): ``'prev_output'`` | ``'input'`` |
            ``'membrane'``, see above. Default ``'prev_output'`` [S].
        entropy_gain (float): initial ``softplus(a)``, > 0. Default 4.0 [I].
        entropy_center (float): ``c``. Default 0.5 [I].
        entropy_temperature (float): softmax temperature of the ``'input'``
            / ``'membrane'`` entropies, > 0. Default 1.0 [I].
        glp_weight (float): initial ``b``. Default 0.0 [I] (the sign of the
            GLP cue is not public, so it starts neutral and is learned).
        uses_context (bool): whether the GLP cue exists. False builds no
            ``b`` and ignores ``context`` (what
            :class:`~stftbox.models.backbones.snn_branch.SpikingBlock` sets
            when it has no pooling, so that no parameter is left unused).
            Default True.
        learnable (bool): ``a, b, d`` are parameters (else buffers).
            Default True [I].
        channel_dim (int): channel axis of the input for entropy and GLP
            reductions. Default -1 (tokens ``[T, B, L, C]``).
        detach_cues (bool): stop gradients through ``E`` and ``g``.
            Default False [I].
        backend (str): ``'auto'`` (default), ``'torch'`` or ``'fused'``
            (see above).

    Forward:
        ``x_seq [T, B, ..., C]`` and optional ``context`` (GLP output,
        broadcastable to ``x_seq``) -> spikes ``[T, B, ..., C]`` in {0, 1}.
        After the call, :attr:`last_threshold` holds the detached thresholds
        ``[T, B, ..., 1]`` (``[B, ..., 1]`` in ``'s'`` mode).

    Raises:
        ValueError: bounds not ``0 < v_th_min < v_threshold < v_th_max``,
            unknown ``entropy_source``, non-positive ``entropy_gain`` or
            ``entropy_temperature``, or a ``context`` that does not
            broadcast to the input.
        KeyError: unknown surrogate name.
        NotImplementedError: ``backend='fused'`` for a call it does not
            cover.
    """

    uses_context = True
    supported_backends = ('torch', 'fused')

    def __init__(self,
                 tau: float = 2.0,
                 decay_input: bool = True,
                 v_threshold: float = 1.0,
                 v_th_min: float = 0.5,
                 v_th_max: float = 1.5,
                 v_reset: Optional[float] = 0.0,
                 surrogate=DEFAULT_SURROGATE,
                 detach_reset: bool = False,
                 step_mode: str = 'm',
                 store_v_seq: bool = False,
                 entropy_source: str = 'prev_output',
                 entropy_gain: float = 4.0,
                 entropy_center: float = 0.5,
                 entropy_temperature: float = 1.0,
                 glp_weight: float = 0.0,
                 uses_context: bool = True,
                 learnable: bool = True,
                 channel_dim: int = -1,
                 detach_cues: bool = False,
                 backend: str = 'auto'):
        if not 0.0 < v_th_min < v_threshold < v_th_max:
            raise ValueError(
                'DynamicThresholdLIF needs 0 < v_th_min < v_threshold < '
                f'v_th_max, got {v_th_min}, {v_threshold}, {v_th_max}')
        if entropy_source not in _ENTROPY_SOURCES:
            raise ValueError(f'entropy_source must be one of '
                             f'{_ENTROPY_SOURCES}, got {entropy_source!r}')
        if entropy_gain <= 0:
            raise ValueError(f'entropy_gain must be > 0, got {entropy_gain}')
        if entropy_temperature <= 0:
            raise ValueError('entropy_temperature must be > 0, got '
                             f'{entropy_temperature}')
        super().__init__(
            tau=float(tau), decay_input=decay_input,
            v_threshold=float(v_threshold),
            v_reset=None if v_reset is None else float(v_reset),
            surrogate_function=build_surrogate(surrogate),
            detach_reset=detach_reset, step_mode=step_mode,
            store_v_seq=store_v_seq)
        self.backend = check_backend(backend, self.supported_backends,
                                     'DynamicThresholdLIF backend')
        # per-token spike rate of the previous step ('prev_output' cue)
        self.register_memory('prev_rate', 0.0)
        self.v_th_min = float(v_th_min)
        self.v_th_max = float(v_th_max)
        self.entropy_source = entropy_source
        self.entropy_center = float(entropy_center)
        self.entropy_temperature = float(entropy_temperature)
        self.channel_dim = channel_dim
        self.detach_cues = detach_cues
        self.uses_context = bool(uses_context)
        frac = (v_threshold - v_th_min) / (v_th_max - v_th_min)
        init = dict(
            gain_raw=math.log(math.expm1(entropy_gain)),  # softplus^-1
            bias=math.log(frac / (1.0 - frac)))  # logit
        if self.uses_context:
            init['glp_weight'] = float(glp_weight)
        for name, value in init.items():
            tensor = torch.tensor(float(value))
            if learnable:
                setattr(self, name, nn.Parameter(tensor))
            else:
                self.register_buffer(name, tensor)
        self.last_threshold: Optional[torch.Tensor] = None

    # ----------------------------------------------------------- threshold
    def threshold(self, entropy: torch.Tensor,
                  glp_stat: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Map cues to ``V_th`` (see class docstring), vectorised.

        Args:
            entropy (Tensor): entropy in [0, 1], any shape.
            glp_stat (Tensor | None): GLP statistic ``g`` broadcastable to
                ``entropy``; None (or no GLP cue built) = 0.

        Returns:
            Tensor: thresholds, shape of ``entropy`` (broadcast with
            ``glp_stat``), values in ``[v_th_min, v_th_max]``.
        """
        return self.v_th_min + self._span * torch.sigmoid(
            F.softplus(self.gain_raw) * entropy + self._static_logit(glp_stat))

    @property
    def _span(self) -> float:
        return self.v_th_max - self.v_th_min

    def _static_logit(self, glp_stat: Optional[torch.Tensor]):
        """The part of ``z`` that does not depend on the entropy:
        ``d - softplus(a) c + b g``."""
        z = self.bias - F.softplus(self.gain_raw) * self.entropy_center
        if glp_stat is not None and self.uses_context:
            z = z + self.glp_weight * glp_stat
        return z

    def _cue(self, t: torch.Tensor) -> torch.Tensor:
        return t.detach() if self.detach_cues else t

    def _entropy(self, x: torch.Tensor) -> torch.Tensor:
        return self._cue(normalized_softmax_entropy(
            x, self.channel_dim, self.entropy_temperature))

    def _glp_stat(self, ctx: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if ctx is None or not self.uses_context:
            return None
        if self.backend == 'torch':
            return self._cue(torch.tanh(ctx).mean(self.channel_dim,
                                                  keepdim=True))
        return self._cue(tanh_mean(ctx, self.channel_dim))

    def _rate_eps(self, x: torch.Tensor) -> float:
        return 0.5 / max(x.shape[self.channel_dim], 1)

    def _step_threshold(self, x, h, ctx, prev_rate) -> torch.Tensor:
        if self.entropy_source == 'input':
            ent = self._entropy(x)
        elif self.entropy_source == 'membrane':
            ent = self._entropy(h)
        else:
            ent = self._cue(binary_entropy_bits(prev_rate, self._rate_eps(x)))
        return self.threshold(ent, self._glp_stat(ctx))

    # ------------------------------------------------- spikingjelly protocol
    def _rate_shape(self, x: torch.Tensor) -> tuple:
        shape = list(x.shape)
        shape[self.channel_dim] = 1
        return tuple(shape)

    def materialize_states(self, inputs, states, step_mode):
        """spikingjelly hook: turn the scalar initial states into tensors
        (``v`` as ``[B, ...]``, ``prev_rate`` as ``[B, ..., 1]``)."""
        states = super().materialize_states(inputs, states, step_mode)
        x = inputs[0][0] if step_mode == 'm' else inputs[0]
        v, prev_rate = states[0], states[1]
        shape = self._rate_shape(x)
        if not isinstance(prev_rate, torch.Tensor) \
                or tuple(prev_rate.shape) != shape:
            prev_rate = x.new_zeros(shape)
        return (v, prev_rate)

    def _split_inputs(self, inputs):
        x = inputs[0]
        ctx = inputs[1] if len(inputs) > 1 and self.uses_context else None
        if ctx is not None:
            try:
                ctx = ctx.expand_as(x)
            except RuntimeError as err:
                raise ValueError(
                    f'context of shape {tuple(ctx.shape)} does not broadcast '
                    f'to the input shape {tuple(x.shape)}') from err
        return x, ctx

    def _one_step(self, x, v, ctx, prev_rate, theta=None):
        h = sj_functional.lif_charge(x, v, self.tau, self.decay_input,
                                     self.v_reset)
        if theta is None:
            theta = self._step_threshold(x, h, ctx, prev_rate)
        spike = self.surrogate_function(h - theta)
        v_next = sj_functional.voltage_reset(h, spike, theta, self.v_reset,
                                             self.detach_reset)
        if self.entropy_source == 'prev_output':
            prev_rate = spike.mean(self.channel_dim, keepdim=True)
        return spike, v_next, prev_rate, theta

    def single_step_functional_forward(self, inputs, states, **kwargs):
        """One step: ``inputs = (x [B, ...],)`` or ``(x, context)``;
        ``states = (v [B, ...], prev_rate [B, ..., 1])``; returns
        ``((spike,), (v_next, rate))``."""
        x, ctx = self._split_inputs(inputs)
        spike, v, rate, theta = self._one_step(x, states[0], ctx, states[1])
        self.last_threshold = theta.detach()
        return (spike,), (v, rate)

    def _fast_path(self, x_seq: torch.Tensor):
        """Surrogate ``(backward_fn, args)`` when the fused kernel runs
        (``backend``, class docstring), else None."""
        sg = None
        if not (self.entropy_source == 'membrane' or self.store_v_seq
                or self.channel_dim not in (-1, x_seq.dim() - 1)
                or not x_seq.is_floating_point()):
            sg = surrogate_backward_args(self.surrogate_function)
        return sg if use_fused(self.backend, sg is not None,
                               'DynamicThresholdLIF') else None

    def _fused_forward(self, x_seq, ctx_seq, v, prev_rate, sg):
        steps, chans = x_seq.shape[0], x_seq.shape[-1]
        lead = x_seq.shape[1:-1]
        x_base = _time_base(x_seq)
        glp = self._glp_stat(_time_base(ctx_seq))         # [Tc, ..., 1]
        x3 = x_base.reshape(x_base.shape[0], -1, chans)
        v0 = v.reshape(-1, chans)
        common = (steps, self.tau, self.decay_input, self.v_reset,
                  self.detach_reset, sg, self.v_th_min, self._span,
                  self._rate_eps(x_seq), self.detach_cues,
                  torch.is_grad_enabled())
        if self.entropy_source == 'input':
            theta = self.threshold(self._entropy(x_base), glp)
            theta = theta.expand(theta.shape[0], *lead, 1).reshape(
                theta.shape[0], -1, 1)
            spikes, th_seq, v_last, _ = DynamicThresholdLIFFunction.apply(
                x3, v0, theta, None, None, None, *common)
        else:
            zs = self._static_logit(glp)
            zs = torch.as_tensor(zs).to(x_seq.dtype)
            zs = zs.reshape((-1,) + (1,) * (len(lead) + 1)) if zs.dim() == 0 \
                else zs
            zs = zs.expand(zs.shape[0], *lead, 1).reshape(zs.shape[0], -1, 1)
            gain = F.softplus(self.gain_raw).to(x_seq.dtype)
            r0 = prev_rate.reshape(-1, 1)
            spikes, th_seq, v_last, rate = DynamicThresholdLIFFunction.apply(
                x3, v0, None, zs, gain, r0, *common)
            prev_rate = rate.detach().reshape(prev_rate.shape)
        self.last_threshold = th_seq.detach().reshape(steps, *lead, 1)
        # detached states: the kernel passes no gradient through them, and a
        # state holding the kernel's graph node would keep its saved
        # tensors alive until the next reset (e.g. after a checkpoint
        # recomputation, which is never backpropagated)
        return (spikes.reshape(steps, *lead, chans),), (
            v_last.detach().reshape(v.shape), prev_rate)

    def multi_step_functional_forward(self, inputs, states, **kwargs):
        """``T`` steps: ``inputs = (x_seq [T, B, ...],)`` or ``(x_seq,
        context)``; the fused kernel when it applies (class docstring),
        else the reference loop."""
        x_seq, ctx_seq = self._split_inputs(inputs)
        v, prev_rate = states
        sg = self._fast_path(x_seq)
        if sg is not None:
            return self._fused_forward(x_seq, ctx_seq, v, prev_rate, sg)
        theta_seq = None
        if self.entropy_source == 'input':
            x_base = _time_base(x_seq)
            theta_seq = self.threshold(self._entropy(x_base),
                                       self._glp_stat(_time_base(ctx_seq)))
            theta_seq = theta_seq.expand(
                x_seq.shape[0], *theta_seq.shape[1:])
        spikes, thetas, v_seq = [], [], []
        # unbind (one backward node) instead of x_seq[t] (T full-size
        # zero-filled gradients in the backward pass)
        steps = x_seq.shape[0]
        xs = x_seq.unbind(0)
        cs = [None] * steps if ctx_seq is None else ctx_seq.unbind(0)
        ths = [None] * steps if theta_seq is None else theta_seq.unbind(0)
        for x_t, c_t, th_t in zip(xs, cs, ths):
            spike, v, prev_rate, theta = self._one_step(
                x_t, v, c_t, prev_rate, th_t)
            spikes.append(spike)
            thetas.append(theta)
            if self.store_v_seq:
                v_seq.append(v)
        self.last_threshold = (theta_seq if theta_seq is not None
                               else torch.stack(thetas)).detach()
        if self.store_v_seq:
            self.v_seq = torch.stack(v_seq)
        return (torch.stack(spikes),), (v, prev_rate)

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        """Read memories, run :meth:`multi_step_functional_forward`, write
        memories back (spikingjelly ``MemoryModule`` protocol)."""
        return sj_base.MemoryModule.multi_step_forward(self, x_seq, *args,
                                                       **kwargs)

    def extra_repr(self) -> str:
        return (super().extra_repr() +
                f', v_th_range=[{self.v_th_min}, {self.v_th_max}], '
                f'entropy_source={self.entropy_source}, '
                f'uses_context={self.uses_context}, backend={self.backend}')
