"""Shared pieces of the registered spiking neurons.

* :func:`build_surrogate` turns a config such as ``dict(type='ATan',
  alpha=2.0)`` into a spikingjelly surrogate-gradient module.
* :class:`SpikeRecordMixin` gives every registered neuron the same
  ``forward(x_seq, context=None)`` signature (``context`` is the optional
  GLP statistic that :class:`DynamicThresholdLIF` reads and plain neurons
  ignore).

Source: docs/method.md "Spiking neurons" (spikingjelly ``LIFNode`` / ``IFNode`` /
``ParametricLIFNode`` in ``step_mode='m'``, surrogate ``ATan`` / ``Sigmoid``).
"""
import inspect
from typing import Optional, Union

import torch
from spikingjelly.activation_based import surrogate as sj_surrogate

__all__ = ['build_surrogate', 'valid_surrogate_names', 'SpikeRecordMixin',
           'DEFAULT_SURROGATE']

#: default surrogate of every registered neuron [I]: arctan with alpha = 2,
#: spikingjelly's usual choice (docs/method.md names ``ATan`` first).
DEFAULT_SURROGATE = dict(type='ATan', alpha=2.0)


def valid_surrogate_names() -> list:
    """Names of the surrogate classes that :func:`build_surrogate` accepts.

    Returns:
        list[str]: sorted names of every subclass of spikingjelly's
        ``surrogate.SurrogateFunctionBase`` defined in
        ``spikingjelly.activation_based.surrogate`` (e.g. ``'ATan'``,
        ``'Sigmoid'``, ``'PiecewiseQuadratic'``).
    """
    base = sj_surrogate.SurrogateFunctionBase
    return sorted(
        name for name, obj in vars(sj_surrogate).items()
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base)


def build_surrogate(
        cfg: Union[None, dict, str, torch.nn.Module] = None
) -> torch.nn.Module:
    """Build a spikingjelly surrogate-gradient function from a config.

    The surrogate replaces the derivative of the Heaviside firing function in
    the backward pass; the forward pass stays an exact 0/1 step (for the
    usual ``spiking=True`` surrogates).

    Args:
        cfg: ``dict(type=<class name>, **kwargs)`` with a class name of
            ``spikingjelly.activation_based.surrogate`` (e.g.
            ``dict(type='ATan', alpha=2.0)``, ``dict(type='Sigmoid',
            alpha=4.0)``); a bare class name string; an already built
            surrogate module (returned unchanged); or ``None`` for
            :data:`DEFAULT_SURROGATE`.

    Returns:
        torch.nn.Module: the surrogate instance (callable on a tensor of
        ``V - V_th``, same shape in and out).

    Raises:
        KeyError: the config has no ``type`` or names an unknown surrogate;
            the message lists the valid names.
        TypeError: ``cfg`` is of another type, or the keyword arguments do
            not fit the surrogate's constructor.
    """
    if cfg is None:
        cfg = DEFAULT_SURROGATE
    if isinstance(cfg, torch.nn.Module):
        return cfg
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    if not isinstance(cfg, dict):
        raise TypeError('surrogate must be a dict like dict(type="ATan", '
                        f'alpha=2.0), a name or a module, got {type(cfg)}')
    cfg = dict(cfg)
    if 'type' not in cfg:
        raise KeyError(f'surrogate config {cfg} has no "type"; valid types: '
                       f'{valid_surrogate_names()}')
    name = cfg.pop('type')
    valid = valid_surrogate_names()
    if name not in valid:
        raise KeyError(f'unknown surrogate {name!r}; valid names in '
                       f'spikingjelly.activation_based.surrogate: {valid}')
    return getattr(sj_surrogate, name)(**cfg)


class SpikeRecordMixin:
    """Common behaviour of the registered neurons (mix in before the
    spikingjelly class).

    * ``forward(x_seq, context=None)``: in ``step_mode='m'`` ``x_seq`` is
      ``[T, B, ...]`` and so is the returned spike tensor (values exactly 0 or
      1 for binary surrogates); in ``step_mode='s'`` both are ``[B, ...]``.
      ``context`` (same shape as ``x_seq`` or broadcastable to it) is a
      modulation statistic, e.g. the GLP output; neurons whose
      :attr:`uses_context` is False ignore it.
    * firing rates are not stored on the neuron: spikingjelly's
      ``monitor.OutputMonitor`` records them
      (:class:`~stftbox.models.utils.FiringRateMonitor`, used by
      :class:`~stftbox.engine.hooks.SpikeStatsHook` and
      ``tools/analysis_tools/benchmark.py``).
    """

    #: whether ``forward`` uses its ``context`` argument
    uses_context = False

    def __deepcopy__(self, memo):
        """Deep copy with the neuron states (spikingjelly memories such as
        ``v``, ``v_seq``) detached from the autograd graph.

        After a training forward the membrane potential is a non-leaf
        tensor of the last graph, and non-leaf tensors refuse
        ``copy.deepcopy`` (pytorch/pytorch#54580; spikingjelly#605), so EMA
        copies or "keep the best model" copies of a trained model failed.
        The copy gets the same values, detached; the original is unchanged.

        Raises:
            nothing beyond ``copy.deepcopy`` of the other attributes.
        """
        import copy
        state = dict(self.__dict__)
        memories = state.get('_memories')
        if isinstance(memories, dict):
            state['_memories'] = {
                k: v.detach() if torch.is_tensor(v) and not v.is_leaf else v
                for k, v in memories.items()}
        for k, v in list(state.items()):
            if torch.is_tensor(v) and not v.is_leaf:
                state[k] = v.detach()
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(state, memo))
        return new

    def forward(self, x_seq: torch.Tensor,
                context: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fire; see the class docstring for shapes. ``context`` is ignored
        unless :attr:`uses_context`."""
        if self.uses_context and context is not None:
            return super().forward(x_seq, context)
        return super().forward(x_seq)
