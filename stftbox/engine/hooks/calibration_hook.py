"""Remembers the epoch and calibration beta of the best validation HM."""
from typing import Dict, Optional

from mmengine.hooks import Hook

from stftbox.registry import HOOKS


@HOOKS.register_module()
class CalibrationHook(Hook):
    """Tracks the stage-1 model selection of the AV-GZSL protocol
    (docs/data.md, Evaluation step 5): after each validation it keeps the
    epoch and the calibration beta with the best HM so far (with that
    validation's S, U, HM, ZSL in percent), and writes them into every
    checkpoint as ``meta['calibration'] = dict(beta, epoch, S, U, HM, ZSL)``.
    ``tools/test.py`` tests with that beta (no sweep on test). ``epoch`` is
    the number of epochs trained (1-based), i.e. the protocol's "best epoch
    + 1" counted from 0: stage 2 of the protocol trains that many epochs.

    The periodic ``epoch_N.pth`` is written before validation N; mmengine's
    ``CheckpointHook(save_best='gzsl/HM')`` writes the best one after it.
    ``ValStateCheckpointHook`` re-saves ``epoch_N.pth`` after validation so
    the latest checkpoint carries this hook's result too.

    Args:
        metric_prefix (str): prefix of the GZSL metric keys. Default
            ``'gzsl'`` (keys ``gzsl/HM``, ``gzsl/beta``).
        best (dict, optional): a result chosen elsewhere, e.g. stage 1 of
            the protocol, to store in checkpoints of a run that does not
            validate (stage 2). Keys ``beta``, ``epoch`` and optionally
            ``S``, ``U``, ``HM``, ``ZSL``.
    """

    priority = 'HIGH'  # before CheckpointHook saves the best checkpoint

    def __init__(self, metric_prefix: str = 'gzsl',
                 best: Optional[Dict[str, float]] = None) -> None:
        self.metric_prefix = metric_prefix
        self.best: Optional[Dict[str, float]] = dict(best) if best else None

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        hm = (metrics or {}).get(f'{self.metric_prefix}/HM')
        if hm is None:
            return
        if self.best is None or hm > self.best['HM']:
            p = self.metric_prefix
            self.best = {k: float(metrics[f'{p}/{k}'])
                         for k in ('S', 'U', 'HM', 'ZSL', 'beta')
                         if f'{p}/{k}' in metrics}
            self.best['epoch'] = int(runner.epoch)
            runner.logger.info(
                f"Best validation HM so far: {hm:.2f} at epoch "
                f"{self.best['epoch']} with beta {self.best['beta']:.2f}")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.best is not None:
            checkpoint.setdefault('meta', {})['calibration'] = dict(self.best)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        best = checkpoint.get('meta', {}).get('calibration')
        if best is not None:
            self.best = dict(best)
