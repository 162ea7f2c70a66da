"""Log the firing rates of the spiking layers during training."""
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from stftbox.models.utils import firing_rates, set_firing_rate_recording
from stftbox.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class SpikeStatsHook(Hook):
    """Write the firing rate of every spiking layer to the message hub.

    Every ``interval`` training iterations (after the train step) it calls
    :func:`~stftbox.models.utils.firing_rates` on the (unwrapped) model and
    updates the scalars ``train/<prefix>/<layer name>`` and, with
    ``log_mean``, ``train/<prefix>/mean`` in ``runner.message_hub``. The
    ``train/`` prefix makes mmengine's ``LogProcessor`` print them with the
    other training logs (``<prefix>/<layer>: value``, unit: spikes per
    neuron per step) and send them to the visualiser backends. The hook
    runs at NORMAL priority, before ``LoggerHook`` (BELOW_NORMAL) of the
    same iteration.

    Firing rates cost one reduction over each layer's spikes, so the hook
    computes them only when it logs: before every training iteration it
    switches the layers' recording on for the iterations it logs and off
    for the others (:func:`~stftbox.models.utils.set_firing_rate_recording`)
    and switches it back on after the run.

    Args:
        interval (int): log every ``interval`` train iterations, >= 1.
            Default 50.
        prefix (str): key prefix. Default ``'firing_rate'``.
        log_mean (bool): also log the mean over layers. Default True.

    Raises:
        ValueError: ``interval < 1``.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 50, prefix: str = 'firing_rate',
                 log_mean: bool = True):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = int(interval)
        self.prefix = prefix
        self.log_mean = log_mean

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        set_firing_rate_recording(
            self._model(runner),
            self.every_n_train_iters(runner, self.interval))

    def after_run(self, runner) -> None:
        set_firing_rate_recording(self._model(runner), True)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[Union[dict, Sequence]] = None
                         ) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        rates = firing_rates(self._model(runner))
        if not rates:
            return
        hub = runner.message_hub
        for name, rate in rates.items():
            hub.update_scalar(f'train/{self.prefix}/{name}', rate)
        if self.log_mean:
            hub.update_scalar(f'train/{self.prefix}/mean',
                              sum(rates.values()) / len(rates))
