"""Tests of SpikeStatsHook and the firing-rate helper."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from stftbox.engine.hooks import SpikeStatsHook
from spikingjelly.activation_based import monitor as sj_monitor

from stftbox.models.utils import (FiringRateMonitor, firing_rates,
                                  spiking_layers)
from stftbox.registry import HOOKS, MODELS


class _Wrapper(nn.Module):
    """A model that holds the SNN branch one level down, like a classifier."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.snn = MODELS.build(
            dict(type='SNNBranch', in_channels=6, embed_dims=8, time_steps=3,
                 num_blocks=2))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.snn(x)['embedding'])


def _runner(model, name):
    return SimpleNamespace(model=model, iter=0,
                           message_hub=MessageHub.get_instance(name))


def _step_rates(hook, runner, model, x):
    hook.before_train_iter(runner, runner.iter)
    model(x)
    hook.after_train_iter(runner, runner.iter)


def test_firing_rate_monitor_is_spikingjellys():
    """The rates are spikingjelly's OutputMonitor records: the mean spike of
    each call, per neuron, averaged over calls."""
    model = _Wrapper()
    assert list(spiking_layers(model)) == ['snn.blocks.0.neuron',
                                           'snn.blocks.1.neuron']
    seen = {}
    hooks = [m.register_forward_hook(
        lambda m, i, o, n=n: seen.setdefault(n, []).append(o.mean().item()))
        for n, m in spiking_layers(model).items()]
    x1, x2 = torch.randn(2, 4, 6) * 2, torch.randn(2, 4, 6) * 5
    with FiringRateMonitor(model) as mon:
        assert isinstance(mon, sj_monitor.OutputMonitor)
        assert mon.rates() == {}  # nothing ran yet
        model(x1)
        model(x2)
    for h in hooks:
        h.remove()
    rates = mon.rates()
    assert list(rates) == ['snn.blocks.0.neuron', 'snn.blocks.1.neuron']
    for name, rate in rates.items():
        assert 0.0 < rate < 1.0
        assert rate == pytest.approx(sum(seen[name]) / 2)
    model(x1)  # hooks removed on exit: records unchanged
    assert mon.rates() == rates
    one = firing_rates(model, lambda: model(x1))
    assert one['snn.blocks.0.neuron'] == pytest.approx(
        seen['snn.blocks.0.neuron'][0])


def test_hook_logs_every_interval():
    model = _Wrapper()
    runner = _runner(model, 'test_spike_stats_interval')
    hook = HOOKS.build(dict(type='SpikeStatsHook', interval=2))
    assert isinstance(hook, SpikeStatsHook)
    hub = runner.message_hub
    x = torch.randn(2, 4, 6) * 2

    runner.iter = 0  # (0 + 1) % 2 != 0 -> nothing logged
    _step_rates(hook, runner, model, x)
    assert not any(k.startswith('train/firing_rate') for k in hub.log_scalars)

    runner.iter = 1
    _step_rates(hook, runner, model, x)
    rates = firing_rates(model, lambda: model(x))
    for name, rate in rates.items():
        key = f'train/firing_rate/{name}'
        assert key in hub.log_scalars
        assert hub.get_scalar(key).current() == pytest.approx(rate)
    mean = hub.get_scalar('train/firing_rate/mean').current()
    assert mean == pytest.approx(sum(rates.values()) / len(rates))

    # a new forward with other inputs -> the logged value follows
    x5 = torch.randn(2, 4, 6) * 5
    runner.iter = 3
    _step_rates(hook, runner, model, x5)
    key = 'train/firing_rate/snn.blocks.0.neuron'
    assert len(hub.get_scalar(key).data[0]) == 2
    assert hub.get_scalar(key).current() == pytest.approx(
        firing_rates(model, lambda: model(x5))['snn.blocks.0.neuron'])
    hook.after_run(runner)
    assert hook.monitor is None


def test_hook_without_spiking_layers_is_silent():
    runner = _runner(nn.Linear(2, 2), 'test_spike_stats_silent')
    hook = SpikeStatsHook(interval=1)
    _step_rates(hook, runner, runner.model, torch.randn(1, 2))
    assert not any('firing_rate' in k for k in runner.message_hub.log_scalars)


def test_hook_options():
    model = _Wrapper()
    runner = _runner(model, 'test_spike_stats_options')
    _step_rates(SpikeStatsHook(interval=1, prefix='fr', log_mean=False),
                runner, model, torch.randn(1, 3, 6))
    keys = set(runner.message_hub.log_scalars)
    assert 'train/fr/snn.blocks.1.neuron' in keys
    assert 'train/fr/mean' not in keys
    with pytest.raises(ValueError):
        SpikeStatsHook(interval=0)


def test_hook_records_only_on_logged_iterations():
    """Not logged: the monitor is disabled (nothing recorded); a forward
    after a logged step (validation) is not recorded either."""
    model = _Wrapper()
    runner = _runner(model, 'test_spike_stats_lazy')
    hook = SpikeStatsHook(interval=2)
    x = torch.randn(2, 4, 6) * 2
    runner.iter = 0
    hook.before_train_iter(runner, 0)
    model(x)
    assert not hook.monitor.is_enable() and hook.monitor.records == []
    hook.after_train_iter(runner, 0)
    assert not any('firing_rate' in k for k in runner.message_hub.log_scalars)
    runner.iter = 1
    hook.before_train_iter(runner, 1)
    assert hook.monitor.is_enable()
    model(x)
    assert len(hook.monitor.records) == 2
    hook.after_train_iter(runner, 1)
    assert runner.message_hub.get_scalar(
        'train/firing_rate/snn.blocks.0.neuron').current() == pytest.approx(
            firing_rates(model, lambda: model(x))['snn.blocks.0.neuron'])
    model(x * 9)  # a validation forward
    assert not hook.monitor.is_enable() and hook.monitor.records == []
