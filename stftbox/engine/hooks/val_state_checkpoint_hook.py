"""Re-saves the epoch checkpoint after validation; every checkpoint written
during training (the best one too) carries the full training state."""
import os.path as osp

from mmengine.hooks import CheckpointHook, Hook
from mmengine.optim import OptimWrapper
from mmengine.runner.base_loop import BaseLoop
from mmengine.utils import apply_to

from stftbox.registry import HOOKS
from ..checkpoint_files import atomic_checkpoint_saving


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

    It also completes every checkpoint saved during training that lacks the
    optimizer or parameter-scheduler state: mmengine's ``CheckpointHook``
    writes ``best_<metric>_epoch_N.pth`` with ``save_optimizer=False,
    save_param_scheduler=False``, so ``--resume`` from it would silently
    restart Adam's moments and the warm-up. The best checkpoint is written
    after validation N (schedulers stepped), so with the state added it
    resumes exactly like ``epoch_N.pth``. A ``CheckpointHook`` configured
    with ``save_optimizer=False`` / ``save_param_scheduler=False`` is
    respected.

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
            with atomic_checkpoint_saving():  # never a half-written file
                runner.save_checkpoint(out_dir, filename, save_optimizer=True,
                                       save_param_scheduler=True,
                                       meta=dict(epoch=runner.epoch,
                                                 iter=runner.iter))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not isinstance(runner._train_loop, BaseLoop):
            return
        ckpt_hook = next((h for h in runner.hooks
                          if isinstance(h, CheckpointHook)), None)
        want_optim = getattr(ckpt_hook, 'save_optimizer', True)
        want_sched = getattr(ckpt_hook, 'save_param_scheduler', True)
        to_cpu = (lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())
        if want_optim and 'optimizer' not in checkpoint and \
                isinstance(runner.optim_wrapper, OptimWrapper):
            checkpoint['optimizer'] = apply_to(
                runner.optim_wrapper.state_dict(), *to_cpu)
        schedulers = runner.param_schedulers
        if want_sched and 'param_schedulers' not in checkpoint and \
                schedulers is not None:
            if isinstance(schedulers, dict):
                checkpoint['param_schedulers'] = {
                    k: [s.state_dict() for s in v]
                    for k, v in schedulers.items()}
            else:
                checkpoint['param_schedulers'] = [
                    s.state_dict() for s in schedulers]
