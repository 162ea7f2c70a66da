"""Class-balanced training batches (docs/data.md, "Splits used in training
and evaluation": training batches are class-balanced, a fixed number of
batches per epoch)."""
import math
from typing import Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from stftbox.registry import DATA_SAMPLERS

__all__ = ['ClassBalancedSampler']


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Yields indices whose every consecutive ``batch_size`` block is a
    class-balanced batch.

    A batch holds ``classes_per_batch`` distinct classes with
    ``samples_per_class`` clips each. Classes are visited in shuffled
    rounds (every class once per round) and each class's clips in shuffled
    rounds too, so an epoch covers the data evenly; a class with fewer
    clips than ``samples_per_class`` repeats clips. Without
    ``classes_per_batch``/``samples_per_class`` the batch is spread
    uniformly over the classes: ``classes_per_batch = min(C, batch_size)``,
    ``samples_per_class = batch_size // classes_per_batch`` and the
    ``batch_size % classes_per_batch`` left-over slots go to one extra clip
    of that many of the batch's classes.

    The stream is a function of ``(seed, epoch)`` only. With ``W`` ranks a
    global stream of ``W * num_batches`` batches is drawn and rank ``r``
    takes batches ``r, r + W, ...``: the ranks get disjoint batches of one
    stream.

    Use it with a DataLoader whose ``batch_size`` equals this
    ``batch_size`` (mmengine: ``sampler=dict(type='ClassBalancedSampler',
    batch_size=B, ...)`` next to ``batch_size=B``).

    Args:
        dataset: has ``labels`` (int array ``[N]``) or ``get_cat_ids(i)``.
        batch_size (int): clips per batch.
        classes_per_batch (int | None): distinct classes per batch.
        samples_per_class (int | None): clips per class per batch.
        num_batches (int | None): batches per epoch on each rank; default
            ``ceil(N / (batch_size * W))``.
        seed (int | None): base seed; ``None``: a random seed shared by all
            ranks (``mmengine.dist.sync_random_seed``).
        rank, world_size (int | None): default ``get_dist_info()``.

    Raises:
        ValueError: empty dataset; ``batch_size`` not equal to
            ``classes_per_batch * samples_per_class`` or not divisible by
            the one given; more classes per batch than classes.
    """

    def __init__(self, dataset, batch_size: int,
                 classes_per_batch: Optional[int] = None,
                 samples_per_class: Optional[int] = None,
                 num_batches: Optional[int] = None,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None):
        labels = getattr(dataset, 'labels', None)
        if labels is None:
            labels = [dataset.get_cat_ids(i)[0] for i in range(len(dataset))]
        labels = np.asarray(labels, dtype=np.int64)
        if labels.size == 0:
            raise ValueError('ClassBalancedSampler: empty dataset')
        self.classes = np.unique(labels)
        self.class_indices: List[np.ndarray] = [
            np.flatnonzero(labels == c) for c in self.classes]
        n_cls = len(self.classes)
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f'batch_size={batch_size}, expected >= 1')
        extra = 0
        if classes_per_batch and samples_per_class:
            if classes_per_batch * samples_per_class != batch_size:
                raise ValueError(
                    f'batch_size={batch_size} != classes_per_batch '
                    f'({classes_per_batch}) * samples_per_class '
                    f'({samples_per_class})')
        elif samples_per_class:
            if batch_size % samples_per_class:
                raise ValueError(f'batch_size={batch_size} is not a '
                                 f'multiple of samples_per_class='
                                 f'{samples_per_class}')
            classes_per_batch = batch_size // samples_per_class
        elif classes_per_batch:
            if batch_size % classes_per_batch:
                raise ValueError(f'batch_size={batch_size} is not a '
                                 f'multiple of classes_per_batch='
                                 f'{classes_per_batch}')
            samples_per_class = batch_size // classes_per_batch
        else:
            classes_per_batch = min(n_cls, batch_size)
            samples_per_class = batch_size // classes_per_batch
            extra = batch_size - classes_per_batch * samples_per_class
        if classes_per_batch > n_cls:
            raise ValueError(f'classes_per_batch={classes_per_batch} but the '
                             f'dataset has {n_cls} classes')
        default_rank, default_world = get_dist_info()
        self.rank = default_rank if rank is None else int(rank)
        self.world_size = (default_world if world_size is None
                           else int(world_size))
        self.batch_size = batch_size
        self.classes_per_batch = int(classes_per_batch)
        self.samples_per_class = int(samples_per_class)
        self.extra = extra
        self.num_batches = int(num_batches) if num_batches else max(
            1, math.ceil(len(labels) / (batch_size * self.world_size)))
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the stream of ``epoch`` (mmengine's
        ``DistSamplerSeedHook`` calls it before each epoch)."""
        self.epoch = int(epoch)

    def _global_batches(self) -> List[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        n_cls = len(self.classes)
        class_queue: List[int] = []
        pools = [rng.permutation(ix) for ix in self.class_indices]
        ptrs = [0] * n_cls

        def take_classes(k):
            chosen, deferred = [], []
            while len(chosen) < k:
                if not class_queue:
                    class_queue.extend(rng.permutation(n_cls).tolist())
                c = class_queue.pop()
                (deferred if c in chosen else chosen).append(c)
            class_queue.extend(deferred)
            return chosen

        def take_samples(c, n):
            out = []
            while len(out) < n:
                if ptrs[c] == len(pools[c]):
                    pools[c] = rng.permutation(self.class_indices[c])
                    ptrs[c] = 0
                out.append(int(pools[c][ptrs[c]]))
                ptrs[c] += 1
            return out

        batches = []
        for _ in range(self.num_batches * self.world_size):
            chosen = take_classes(self.classes_per_batch)
            batch = []
            for j, c in enumerate(chosen):
                batch += take_samples(
                    c, self.samples_per_class + (1 if j < self.extra else 0))
            batches.append(rng.permutation(batch))
        return batches

    def __iter__(self) -> Iterator[int]:
        batches = self._global_batches()[self.rank::self.world_size]
        for b in batches:
            yield from (int(i) for i in b)

    def __len__(self) -> int:
        return self.num_batches * self.batch_size
