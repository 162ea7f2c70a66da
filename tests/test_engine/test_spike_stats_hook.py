"""Tests of SpikeStatsHook and the firing-rate helper."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from stftbox.engine.hooks import SpikeStatsHook
from stftbox.models.utils import firing_rates, spiking_layers
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


def test_firing_rates_helper():
    model = _Wrapper()
    assert firing_rates(model) == {}  # nothing ran yet
    assert list(spiking_layers(model)) == ['snn.blocks.0.neuron',
                                           'snn.blocks.1.neuron']
    model(torch.randn(2, 4, 6) * 2)
    rates = firing_rates(model)
    assert list(rates) == ['snn.blocks.0.neuron', 'snn.blocks.1.neuron']
    for name, rate in rates.items():
        assert isinstance(rate, float) and 0.0 <= rate <= 1.0
        layer = dict(model.named_modules())[name]
        assert rate == pytest.approx(float(layer.firing_rate))


def test_hook_logs_every_interval():
    model = _Wrapper()
    runner = _runner(model, 'test_spike_stats_interval')
    hook = HOOKS.build(dict(type='SpikeStatsHook', interval=2))
    assert isinstance(hook, SpikeStatsHook)
    hub = runner.message_hub
    x = torch.randn(2, 4, 6) * 2

    model(x)
    runner.iter = 0  # (0 + 1) % 2 != 0 -> nothing logged
    hook.after_train_iter(runner, batch_idx=0)
    assert not any(k.startswith('train/firing_rate') for k in hub.log_scalars)

    runner.iter = 1
    hook.after_train_iter(runner, batch_idx=1)
    rates = firing_rates(model)
    for name, rate in rates.items():
        key = f'train/firing_rate/{name}'
        assert key in hub.log_scalars
        assert hub.get_scalar(key).current() == pytest.approx(rate)
    mean = hub.get_scalar('train/firing_rate/mean').current()
    assert mean == pytest.approx(sum(rates.values()) / len(rates))

    # a new forward with other inputs -> the logged value follows
    model(torch.randn(2, 4, 6) * 5)
    runner.iter = 3
    hook.after_train_iter(runner, batch_idx=3)
    key = 'train/firing_rate/snn.blocks.0.neuron'
    assert len(hub.get_scalar(key).data[0]) == 2
    assert hub.get_scalar(key).current() == pytest.approx(
        firing_rates(model)['snn.blocks.0.neuron'])


def test_hook_without_spiking_layers_is_silent():
    runner = _runner(nn.Linear(2, 2), 'test_spike_stats_silent')
    SpikeStatsHook(interval=1).after_train_iter(runner, 0)
    assert not any('firing_rate' in k for k in runner.message_hub.log_scalars)


def test_hook_options():
    model = _Wrapper()
    model(torch.randn(1, 3, 6))
    runner = _runner(model, 'test_spike_stats_options')
    SpikeStatsHook(interval=1, prefix='fr', log_mean=False).after_train_iter(
        runner, 0)
    keys = set(runner.message_hub.log_scalars)
    assert 'train/fr/snn.blocks.1.neuron' in keys
    assert 'train/fr/mean' not in keys
    with pytest.raises(ValueError):
        SpikeStatsHook(interval=0)


def test_hook_records_firing_rates_only_on_logged_iterations():
    model = _Wrapper()
    runner = _runner(model, 'test_spike_stats_lazy')
    hook = SpikeStatsHook(interval=2)
    x = torch.randn(2, 4, 6) * 2
    runner.iter = 0  # not logged: recording off, nothing computed
    hook.before_train_iter(runner, 0)
    model(x)
    assert firing_rates(model) == {}
    assert all(not m.record_firing_rate
               for m in spiking_layers(model).values())
    hook.after_train_iter(runner, 0)
    assert not any('firing_rate' in k for k in runner.message_hub.log_scalars)
    runner.iter = 1  # logged: recorded and logged
    hook.before_train_iter(runner, 1)
    model(x)
    rates = firing_rates(model)
    assert set(rates) == {'snn.blocks.0.neuron', 'snn.blocks.1.neuron'}
    hook.after_train_iter(runner, 1)
    key = 'train/firing_rate/snn.blocks.0.neuron'
    assert runner.message_hub.get_scalar(key).current() == pytest.approx(
        rates['snn.blocks.0.neuron'])
    runner.iter = 2
    hook.before_train_iter(runner, 2)
    hook.after_run(runner)  # recording back on after the run
    assert all(m.record_firing_rate for m in spiking_layers(model).values())
