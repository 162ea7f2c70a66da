"""Remembers the epoch and calibration beta of the best validation HM."""
from typing import Dict, Optional

from mmengine.hooks import Hook

from stftbox.registry import HOOKS


@HOOKS.register_module()
class CalibrationHook(Hook):
    """Tracks the stage-1 model selection of the AV-GZSL protocol
    (benchmark.md, Evaluation step 5): after each validation it keeps the
    epoch and the calibration beta with the best HM so far (with that
    validation's S, U, HM, ZSL in percent), and writes them into every
    checkpoint as ``meta['calibration'] = dict(beta, epoch, S, U, HM, ZSL)``.
    ``tools/test.py`` tests with that beta (no sweep on test); the two-stage
    protocol retrains for ``epoch + 1`` epochs (epochs counted from 0, so
    ``epoch`` is the 1-based number of epochs trained).

    Args:
        metric_prefix (str): prefix of the GZSL metric keys. Default
            ``'gzsl'`` (keys ``gzsl/HM``, ``gzsl/beta``).
    """

    priority = 'HIGH'  # before CheckpointHook saves the best checkpoint

    def __init__(self, metric_prefix: str = 'gzsl') -> None:
        self.metric_prefix = metric_prefix
        self.best: Optional[Dict[str, float]] = None

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
