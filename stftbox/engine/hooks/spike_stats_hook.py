"""Log the firing rates of the spiking layers during training."""
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from stftbox.models.utils import FiringRateMonitor
from stftbox.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class SpikeStatsHook(Hook):
    """Write the firing rate of every spiking layer to the message hub.

    The rates are recorded by spikingjelly's ``monitor.OutputMonitor``
    (:class:`~stftbox.models.utils.FiringRateMonitor`, on every
    spikingjelly neuron of the unwrapped model), enabled only for the
    training iterations the hook logs: every ``interval`` training
    iterations (after the train step) it updates the scalars
    ``train/<prefix>/<layer name>`` and, with ``log_mean``,
    ``train/<prefix>/mean`` in ``runner.message_hub``. The ``train/``
    prefix makes mmengine's ``LogProcessor`` print them with the other
    training logs (``<prefix>/<layer>: value``, unit: spikes per neuron per
    step) and send them to the visualiser backends. The hook runs at NORMAL
    priority, before ``LoggerHook`` (BELOW_NORMAL) of the same iteration.

    On the other iterations (and in validation) the monitor is disabled:
    its forward hooks return at once, no reduction over the spikes is
    computed. The monitor is built at the first training iteration and its
    hooks are removed after the run.

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
        self.monitor: Optional[FiringRateMonitor] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _monitor(self, runner) -> FiringRateMonitor:
        if self.monitor is None:
            self.monitor = FiringRateMonitor(self._model(runner))
        return self.monitor

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        monitor = self._monitor(runner)
        monitor.clear_recorded_data()
        if self.every_n_train_iters(runner, self.interval):
            monitor.enable()
        else:
            monitor.disable()

    def after_run(self, runner) -> None:
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[Union[dict, Sequence]] = None
                         ) -> None:
        if self.monitor is None or \
                not self.every_n_train_iters(runner, self.interval):
            return
        rates = self.monitor.rates()
        self.monitor.clear_recorded_data()
        self.monitor.disable()   # validation forwards are not recorded
        if not rates:
            return
        hub = runner.message_hub
        for name, rate in rates.items():
            hub.update_scalar(f'train/{self.prefix}/{name}', rate)
        if self.log_mean:
            hub.update_scalar(f'train/{self.prefix}/mean',
                              sum(rates.values()) / len(rates))
