"""DataLoader worker seeding that changes every epoch."""
import random

import numpy as np
import torch

from stftbox.registry import FUNCTIONS


@FUNCTIONS.register_module()
def epoch_worker_init_fn(worker_id: int) -> None:
    """Seed NumPy and Python's ``random`` in a DataLoader worker from the
    worker's torch seed.

    PyTorch gives each worker the torch seed ``base_seed + worker_id``, with
    ``base_seed`` drawn from the main process's generator when the epoch's
    iterator starts; ``EpochSeedHook`` re-seeds that generator from
    (seed, epoch, rank). mmengine's default ``worker_init_fn`` instead seeds
    every worker with the same fixed value in every epoch, so random crops
    would repeat each epoch. Use with ``worker_init_fn=dict(
    type='stftbox.epoch_worker_init_fn')`` and ``persistent_workers=False``.

    Args:
        worker_id (int): index of the worker (unused: the torch seed
            already includes it).
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
