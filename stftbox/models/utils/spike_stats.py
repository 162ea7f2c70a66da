"""Spike statistics of a model (firing rates per spiking layer).

SNN papers report firing rates to estimate synaptic operations and energy
(docs/method.md "Energy figures": SOPs = firing rate x fan-out x T).
"""
from typing import Dict

import torch.nn as nn

__all__ = ['firing_rates', 'spiking_layers', 'set_firing_rate_recording']


def spiking_layers(model: nn.Module) -> Dict[str, nn.Module]:
    """All layers of ``model`` that record a firing rate.

    A layer counts when it has a ``firing_rate`` attribute, which every
    neuron of the ``NEURONS`` registry has
    (:class:`~stftbox.models.neurons.base.SpikeRecordMixin`). Unregistered
    spikingjelly neurons are not seen.

    Args:
        model (nn.Module): any module (a wrapper such as DDP is fine; its
            names then start with ``module.``).

    Returns:
        dict[str, nn.Module]: qualified name (``model.named_modules()``) ->
        layer, in module order.
    """
    return {name: m for name, m in model.named_modules()
            if hasattr(m, 'firing_rate')}


def firing_rates(model: nn.Module) -> Dict[str, float]:
    """Firing rate of every spiking layer in the last forward pass.

    Args:
        model (nn.Module): a model that has run at least one forward.

    Returns:
        dict[str, float]: qualified layer name -> mean spike value of the
        layer's last forward (spikes per neuron per time step, in [0, 1] for
        binary neurons, averaged over all positions including padded
        tokens). Layers that have not run yet are left out.
    """
    rates = {}
    for name, layer in spiking_layers(model).items():
        rate = layer.firing_rate
        if rate is not None:
            rates[name] = float(rate)
    return rates


def set_firing_rate_recording(model: nn.Module, enabled: bool) -> int:
    """Switch the firing-rate recording of every spiking layer on or off.

    Recording costs one reduction over each layer's spikes per forward; it
    is on by default. :class:`~stftbox.engine.hooks.SpikeStatsHook` turns it
    on only for the training iterations it logs.

    Args:
        model (nn.Module): any module (wrappers are fine).
        enabled (bool): record (True) or not (False). Switching off also
            clears the stored rates (``firing_rate = None``), so that no
            stale value is read as the current one.

    Returns:
        int: number of spiking layers switched.
    """
    layers = spiking_layers(model)
    for layer in layers.values():
        layer.record_firing_rate = bool(enabled)
        if not enabled:
            layer.firing_rate = None
    return len(layers)
