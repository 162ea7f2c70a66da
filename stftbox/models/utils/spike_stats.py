"""Spike statistics of a model: firing rates (spikingjelly's monitors) and
synaptic operations / multiply-accumulates (spikingjelly's op counters).

SNN papers report firing rates and synaptic operations to estimate energy
(docs/method.md "Energy figures": ``SOPs x 0.9 pJ + MACs x 4.6 pJ``).
Both are counted with spikingjelly 2's own tools:

* :class:`FiringRateMonitor` is a ``spikingjelly.activation_based.monitor.
  OutputMonitor`` on every spikingjelly neuron (``neuron.BaseNode``), the
  registered ones and any other;
* :func:`count_synops_macs` runs ``op_counter.SynOpCounter`` and
  ``op_counter.MACCounter`` in one ``op_counter.DispatchCounterMode``.
"""
from contextlib import contextmanager
from typing import Callable, Dict, Tuple

import torch
import torch.nn as nn
from spikingjelly.activation_based import monitor as sj_monitor
from spikingjelly.activation_based import neuron as sj_neuron

__all__ = ['FiringRateMonitor', 'firing_rates', 'spiking_layers',
           'count_synops_macs', 'attention_macs']


def spiking_layers(model: nn.Module) -> Dict[str, nn.Module]:
    """All spiking neurons of ``model``: its spikingjelly ``BaseNode``
    modules (every neuron of the ``NEURONS`` registry is one).

    Args:
        model (nn.Module): any module (a wrapper such as DDP is fine; its
            names then start with ``module.``).

    Returns:
        dict[str, nn.Module]: qualified name (``model.named_modules()``) ->
        neuron, in module order.
    """
    return {name: m for name, m in model.named_modules()
            if isinstance(m, sj_neuron.BaseNode)}


def _mean_spike(spikes: torch.Tensor) -> torch.Tensor:
    # a detached 0-d tensor: no host sync per forward (read in rates())
    return spikes.detach().float().mean()


class FiringRateMonitor(sj_monitor.OutputMonitor):
    """Firing rate of every spiking neuron, recorded by spikingjelly's
    ``monitor.OutputMonitor``.

    A forward hook on each ``neuron.BaseNode`` of ``model`` stores the mean
    spike value of each call while the monitor is enabled (spikingjelly's
    ``enable()`` / ``disable()``; enabled when built). Use it as a context
    manager (hooks removed on exit, records kept) or call ``close()``.

    Args:
        model (nn.Module): the model (wrappers are fine).
        instance (type | tuple[type]): module types to monitor. Default
            spikingjelly's ``neuron.BaseNode``.

    Example:
        >>> with FiringRateMonitor(model) as mon:
        ...     model(x)
        >>> mon.rates()   # {'backbone.snn_branch.blocks.0.neuron': 0.12, ...}
    """

    def __init__(self, model: nn.Module, instance=sj_neuron.BaseNode):
        super().__init__(model, instance=instance,
                         function_on_output=_mean_spike)

    def rates(self) -> Dict[str, float]:
        """Firing rate per neuron over the recorded calls.

        Returns:
            dict[str, float]: qualified layer name -> mean spike value
            (spikes per neuron per time step, in [0, 1] for binary neurons,
            averaged over all positions including padded tokens; the mean of
            the per-call means when a layer ran several times). Layers
            without a recorded call are left out; module order.
        """
        out = {}
        for name in self.monitored_layers:
            values = self[name]
            if values:
                out[name] = float(torch.stack(values).mean())
        return out


def firing_rates(model: nn.Module, step: Callable[[], object]
                 ) -> Dict[str, float]:
    """Firing rate of every spiking neuron of ``model`` during one call of
    ``step`` (a :class:`FiringRateMonitor` around it).

    Args:
        model (nn.Module): the model ``step`` runs.
        step (callable): no-argument function that runs ``model``.

    Returns:
        dict[str, float]: see :meth:`FiringRateMonitor.rates`.
    """
    with FiringRateMonitor(model) as mon:
        step()
    return mon.rates()


def attention_macs(args, kwargs, out) -> int:
    """``MACCounter`` rule of the fused scaled-dot-product attention ops:
    ``q @ k^T`` and ``softmax @ v`` as dense products,
    ``B x H x Lq x Lk x (E + Ev)`` for ``q [..., Lq, E]``,
    ``k [..., Lk, E]``, ``v [..., Lk, Ev]`` (a causal mask is not
    discounted). spikingjelly 2.0 has no rule for them, so without it a
    ``nn.MultiheadAttention`` / ``F.scaled_dot_product_attention`` would
    count 0 MACs.
    """
    q, k, v = args[:3]
    lead = 1
    for d in q.shape[:-2]:
        lead *= int(d)
    lq, e = q.shape[-2:]
    lk, ev = k.shape[-2], v.shape[-1]
    return lead * int(lq) * int(lk) * (int(e) + int(ev))


def _attention_rules() -> dict:
    aten = torch.ops.aten
    names = ('_scaled_dot_product_flash_attention_for_cpu',
             '_scaled_dot_product_flash_attention',
             '_scaled_dot_product_efficient_attention',
             '_scaled_dot_product_cudnn_attention')
    rules = {}
    for name in names:
        packet = getattr(aten, name, None)
        if packet is not None and hasattr(packet, 'default'):
            rules[packet.default] = attention_macs
    return rules


@contextmanager
def _segment_gaps(model: nn.Module):
    """Run every module with a ``segment_fast_path`` switch (the SNN branch)
    on its gap-token path (same outputs): the fast path recomputes the few
    Conv1d columns next to a modality boundary (kernel > 1), which a
    counter would count twice."""
    switched = [m for m in model.modules()
                if getattr(m, 'segment_fast_path', None) is True
                and 'segment_fast_path' not in vars(m)]
    for m in switched:
        m.segment_fast_path = False
    try:
        yield
    finally:
        for m in switched:
            del m.segment_fast_path


def count_synops_macs(model: nn.Module, step: Callable[[], object]
                      ) -> Tuple[int, int]:
    """Synaptic operations and multiply-accumulates of one call of ``step``,
    counted by spikingjelly's ``SynOpCounter`` and ``MACCounter``.

    At the aten level, a matrix product or convolution one of whose operands
    holds only 0 and 1 is spike-driven: it costs SOPs (one accumulate per
    weight a spike uses: non-zero inputs x fan-out for a linear layer, the
    weight taps inside the input for a convolution) and no MACs; every other
    ``mm`` / ``addmm`` / ``bmm`` / ``baddbmm`` / ``convolution`` and the
    fused attention (:func:`attention_macs`) costs dense MACs. Element-wise
    work (norms, neurons, activations) is not counted; BatchNorm modules are
    ignored (folded into the preceding layer at inference, as spikingjelly's
    ``MACCounter`` documentation advises). The SNN branch runs on its
    gap-token path while counting (same outputs; with a Conv1d kernel > 1
    the output column of each gap token is computed, then masked, and so
    counted: dense MACs of one column in the float first block, one tap per
    spike next to the gap in the others; the fast path would count the
    recomputed boundary columns twice instead).

    Autograd must be enabled (spikingjelly's module tracker registers
    gradient hooks); call ``model.eval()`` for inference counts.

    Args:
        model (nn.Module): the model ``step`` runs.
        step (callable): no-argument function that runs ``model`` once.

    Returns:
        tuple[int, int]: ``(sops, macs)`` of that call.
    """
    from spikingjelly.activation_based.op_counter import (DispatchCounterMode,
                                                          MACCounter,
                                                          SynOpCounter)
    bn = [nn.modules.batchnorm._BatchNorm]
    synops = SynOpCounter(extra_ignore_modules=bn)
    macs = MACCounter(extra_rules=_attention_rules(),
                      extra_ignore_modules=bn)
    with torch.enable_grad(), _segment_gaps(model), \
            DispatchCounterMode([synops, macs]):
        step()
    return int(synops.get_total()), int(macs.get_total())
