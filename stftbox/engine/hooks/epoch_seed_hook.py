"""Seeds every training epoch from (seed, epoch, rank)."""
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.runner import set_random_seed

from stftbox.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seeds Python, NumPy and torch before each training epoch with
    ``seed + epoch * world_size + rank``.

    mmengine seeds once at start-up and does not store random states in
    checkpoints, so a run resumed with ``--resume`` would draw different
    dropout masks and random crops than the uninterrupted run. With this
    hook the randomness of an epoch depends only on the seed, the epoch and
    the rank, so a resumed run reproduces the uninterrupted one. With
    DataLoader workers, use ``persistent_workers=False`` and
    ``worker_init_fn=dict(type='stftbox.epoch_worker_init_fn')`` so that
    workers take their seeds from the re-seeded generator (mmengine's
    default worker seeding repeats the same seeds every epoch).

    Args:
        seed (int, optional): base seed; default the runner's seed
            (``randomness.seed`` of the config).
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed=None) -> None:
        self.seed = seed

    def before_train_epoch(self, runner) -> None:
        rank, world_size = get_dist_info()
        base = self.seed if self.seed is not None else runner.seed
        set_random_seed(int(base) + runner.epoch * world_size + rank)
