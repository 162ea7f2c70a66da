"""Registered thin wrappers of spikingjelly's plain neurons.

They keep spikingjelly's dynamics and kernels unchanged and only add what a
config needs: a ``surrogate=dict(type=..., ...)`` option, ``step_mode='m'``
by default (input ``[T, B, ...]``), the uniform ``forward(x_seq,
context=None)`` signature (see
:class:`~stftbox.models.neurons.base.SpikeRecordMixin`). A config therefore
swaps neurons by ``type=`` alone, e.g. ``neuron=dict(type='IFNode')``.

Source: docs/method.md "Spiking neurons" (LIF: tau dV/dt = -(V - V_reset) + X,
spike when V >= V_th, hard reset to V_reset).
"""
from typing import Optional

from spikingjelly.activation_based import neuron as sj_neuron

from stftbox.registry import NEURONS
from .base import DEFAULT_SURROGATE, SpikeRecordMixin, build_surrogate

__all__ = ['LIFNode', 'IFNode', 'ParametricLIFNode']


def _reset_value(v_reset: Optional[float]) -> Optional[float]:
    return None if v_reset is None else float(v_reset)


@NEURONS.register_module()
class LIFNode(SpikeRecordMixin, sj_neuron.LIFNode):
    """Leaky integrate-and-fire neuron (spikingjelly ``neuron.LIFNode``).

    Charge ``H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau`` (with
    ``decay_input=True``), fire ``S[t] = Heaviside(H[t] - V_th)``, hard reset
    to ``v_reset`` (soft reset by subtracting ``V_th`` when ``v_reset`` is
    None). Potentials are dimensionless.

    Args:
        tau (float): membrane time constant in time steps, > 1. Default 2.0.
        decay_input (bool): whether the input is also divided by ``tau``.
        v_threshold (float): firing threshold. Default 1.0.
        v_reset (float | None): reset potential; None = soft reset.
        surrogate (dict | str | Module | None): surrogate gradient, see
            :func:`~stftbox.models.neurons.base.build_surrogate`. Default
            ``dict(type='ATan', alpha=2.0)`` [I].
        detach_reset (bool): detach the reset path from autograd.
        step_mode (str): ``'m'`` (input ``[T, B, ...]``, default) or ``'s'``
            (input ``[B, ...]``).
        store_v_seq (bool): keep the potential of every step in ``v_seq``.

    Forward: ``x_seq [T, B, ...]`` -> spikes ``[T, B, ...]`` in {0, 1};
    ``context`` is ignored.

    Raises:
        KeyError: unknown surrogate name.
        AssertionError: spikingjelly's checks (e.g. ``tau <= 1``).
    """

    def __init__(self,
                 tau: float = 2.0,
                 decay_input: bool = True,
                 v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0,
                 surrogate=DEFAULT_SURROGATE,
                 detach_reset: bool = False,
                 step_mode: str = 'm',
                 store_v_seq: bool = False):
        super().__init__(
            tau=float(tau), decay_input=decay_input,
            v_threshold=float(v_threshold), v_reset=_reset_value(v_reset),
            surrogate_function=build_surrogate(surrogate),
            detach_reset=detach_reset, step_mode=step_mode,
            store_v_seq=store_v_seq)


@NEURONS.register_module()
class IFNode(SpikeRecordMixin, sj_neuron.IFNode):
    """Integrate-and-fire neuron without leak (spikingjelly
    ``neuron.IFNode``): ``H[t] = V[t-1] + X[t]``, fire and reset as
    :class:`LIFNode`.

    Args:
        v_threshold (float): firing threshold. Default 1.0.
        v_reset (float | None): reset potential; None = soft reset.
        surrogate (dict | str | Module | None): surrogate gradient. Default
            ``dict(type='ATan', alpha=2.0)`` [I].
        detach_reset (bool): detach the reset path from autograd.
        step_mode (str): ``'m'`` (default) or ``'s'``.
        store_v_seq (bool): keep the potential of every step in ``v_seq``.

    Forward: ``x_seq [T, B, ...]`` -> spikes ``[T, B, ...]`` in {0, 1}.

    Raises:
        KeyError: unknown surrogate name.
    """

    def __init__(self,
                 v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0,
                 surrogate=DEFAULT_SURROGATE,
                 detach_reset: bool = False,
                 step_mode: str = 'm',
                 store_v_seq: bool = False):
        super().__init__(
            v_threshold=float(v_threshold), v_reset=_reset_value(v_reset),
            surrogate_function=build_surrogate(surrogate),
            detach_reset=detach_reset, step_mode=step_mode,
            store_v_seq=store_v_seq)


@NEURONS.register_module()
class ParametricLIFNode(SpikeRecordMixin, sj_neuron.ParametricLIFNode):
    """LIF neuron with a learnable time constant (PLIF, Fang et al. 2021;
    spikingjelly ``neuron.ParametricLIFNode``): ``1 / tau = sigmoid(w)``
    with ``w`` an ``nn.Parameter``.

    Args:
        init_tau (float): initial membrane time constant, > 1. Default 2.0.
        decay_input (bool): whether the input is also divided by ``tau``.
        v_threshold (float): firing threshold. Default 1.0.
        v_reset (float | None): reset potential; None = soft reset.
        surrogate (dict | str | Module | None): surrogate gradient. Default
            ``dict(type='ATan', alpha=2.0)`` [I].
        detach_reset (bool): detach the reset path from autograd.
        step_mode (str): ``'m'`` (default) or ``'s'``.
        store_v_seq (bool): keep the potential of every step in ``v_seq``.

    Forward: ``x_seq [T, B, ...]`` -> spikes ``[T, B, ...]`` in {0, 1}.

    Raises:
        KeyError: unknown surrogate name.
        AssertionError: spikingjelly's checks (e.g. ``init_tau <= 1``).
    """

    def __init__(self,
                 init_tau: float = 2.0,
                 decay_input: bool = True,
                 v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0,
                 surrogate=DEFAULT_SURROGATE,
                 detach_reset: bool = False,
                 step_mode: str = 'm',
                 store_v_seq: bool = False):
        super().__init__(
            init_tau=float(init_tau), decay_input=decay_input,
            v_threshold=float(v_threshold), v_reset=_reset_value(v_reset),
            surrogate_function=build_surrogate(surrogate),
            detach_reset=detach_reset, step_mode=step_mode,
            store_v_seq=store_v_seq)
