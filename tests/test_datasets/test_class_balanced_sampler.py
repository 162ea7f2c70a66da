"""ClassBalancedSampler: balance, determinism, disjoint rank streams."""
from collections import Counter

import numpy as np
import pytest

from stftbox.datasets import ClassBalancedSampler
from stftbox.registry import DATA_SAMPLERS


class Labels:
    """Minimal dataset: ``labels`` attribute only."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)


# 5 classes of very different sizes (2 .. 40 clips)
LABELS = np.repeat(np.arange(5), [40, 2, 13, 7, 25])
rng = np.random.default_rng(0)
LABELS = LABELS[rng.permutation(len(LABELS))]


def _batches(sampler):
    idx = list(sampler)
    assert len(idx) == len(sampler)
    b = sampler.batch_size
    return [idx[i:i + b] for i in range(0, len(idx), b)]


def test_every_batch_is_balanced():
    s = DATA_SAMPLERS.build(dict(type='ClassBalancedSampler',
                                 dataset=Labels(LABELS), batch_size=12,
                                 classes_per_batch=4, num_batches=30,
                                 seed=1))
    batches = _batches(s)
    assert len(batches) == 30
    seen_classes = Counter()
    for b in batches:
        counts = Counter(LABELS[b].tolist())
        assert sorted(counts.values()) == [3, 3, 3, 3]
        seen_classes.update(counts.keys())
    # classes are visited in rounds: every class about equally often
    assert set(seen_classes) == set(range(5))
    assert max(seen_classes.values()) - min(seen_classes.values()) <= 1
    # the 40-clip class: no clip repeats before all were drawn (13 batches
    # of 3 = 39 draws, all from its first shuffled round)
    first = [i for b in batches for i in b if LABELS[i] == 0][:39]
    assert len(first) == 39 and len(set(first)) == 39


def test_uniform_over_classes_default():
    s = ClassBalancedSampler(Labels(LABELS), batch_size=10, num_batches=8,
                             seed=0)
    assert (s.classes_per_batch, s.samples_per_class) == (5, 2)
    for b in _batches(s):
        assert Counter(LABELS[b].tolist()) == {c: 2 for c in range(5)}
    s = ClassBalancedSampler(Labels(LABELS), batch_size=3, num_batches=5,
                             seed=0)
    for b in _batches(s):  # fewer slots than classes: 3 distinct classes
        assert len(set(LABELS[b].tolist())) == 3


def test_deterministic_per_seed_and_epoch():

    def stream(seed, epoch):
        s = ClassBalancedSampler(Labels(LABELS), batch_size=8,
                                 samples_per_class=2, num_batches=10,
                                 seed=seed)
        s.set_epoch(epoch)
        return list(s)

    assert stream(3, 0) == stream(3, 0)
    assert stream(3, 1) == stream(3, 1)
    assert stream(3, 0) != stream(3, 1)
    assert stream(3, 0) != stream(4, 0)
    assert len(stream(3, 0)) == 80


def test_ranks_get_disjoint_parts_of_one_stream():
    labels = np.repeat(np.arange(4), 50)
    kw = dict(batch_size=8, classes_per_batch=4, num_batches=5, seed=7)
    ranks = [ClassBalancedSampler(Labels(labels), rank=r, world_size=2, **kw)
             for r in range(2)]
    for s in ranks:
        s.set_epoch(2)
    single = ClassBalancedSampler(Labels(labels), rank=0, world_size=1,
                                  **dict(kw, num_batches=10))
    single.set_epoch(2)
    b0, b1, whole = _batches(ranks[0]), _batches(ranks[1]), _batches(single)
    assert len(b0) == len(b1) == 5
    assert b0 == whole[0::2] and b1 == whole[1::2]
    # 200 clips, 80 drawn in total: no clip on both ranks
    assert not set(sum(b0, [])) & set(sum(b1, []))
    for b in b0 + b1:
        assert sorted(Counter(labels[b].tolist()).values()) == [2, 2, 2, 2]


def test_default_num_batches_and_errors():
    s = ClassBalancedSampler(Labels(LABELS), batch_size=10, seed=0,
                             world_size=1, rank=0)
    assert s.num_batches == 9 and len(s) == 90  # ceil(87 / 10)
    with pytest.raises(ValueError, match='classes_per_batch=6'):
        ClassBalancedSampler(Labels(LABELS), batch_size=12,
                             classes_per_batch=6, seed=0)
    with pytest.raises(ValueError, match='not a multiple'):
        ClassBalancedSampler(Labels(LABELS), batch_size=10,
                             samples_per_class=3, seed=0)
    with pytest.raises(ValueError, match='!='):
        ClassBalancedSampler(Labels(LABELS), batch_size=10,
                             classes_per_batch=2, samples_per_class=4,
                             seed=0)
