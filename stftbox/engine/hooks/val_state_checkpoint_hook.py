"""Re-saves the epoch checkpoint after validation."""
import os.path as osp

from mmengine.hooks import Hook
from mmengine.runner.base_loop import BaseLoop

from stftbox.registry import HOOKS


@HOOKS.register_module()
class ValStateCheckpointHook(Hook):
    """After validation N, write ``epoch_N.pth`` again.

    mmengine's ``CheckpointHook`` saves ``epoch_N.pth`` after training epoch
    N, *before* validation N; a ``ReduceOnPlateauLR`` scheduler steps on
    that validation. A run resumed from the file would therefore skip one
    scheduler step and lower the learning rate one epoch later than the
    uninterrupted run. Re-saving after the scheduler has stepped (this
    hook's priority, 80, runs after ``ParamSchedulerHook`` (70) and before
    ``CheckpointHook`` (90)) makes ``--resume`` exact. Only an existing
    ``epoch_N.pth`` in the checkpoint folder is rewritten.

    Args:
        out_dir (str, optional): checkpoint folder; default the work dir
            (``CheckpointHook``'s default).
    """

    priority = 80

    def __init__(self, out_dir=None) -> None:
        self.out_dir = out_dir

    def after_val_epoch(self, runner, metrics=None) -> None:
        # only inside training (a val-only run has no train loop built)
        if not isinstance(runner._train_loop, BaseLoop):
            return
        out_dir = self.out_dir or runner.work_dir
        filename = f'epoch_{runner.epoch}.pth'
        if osp.isfile(osp.join(out_dir, filename)):
            # the epoch counter has already moved past epoch N here, so
            # give the meta mmengine would have written after training N
            runner.save_checkpoint(out_dir, filename, save_optimizer=True,
                                   save_param_scheduler=True,
                                   meta=dict(epoch=runner.epoch,
                                             iter=runner.iter))
