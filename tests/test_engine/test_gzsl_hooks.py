"""CalibrationHook, ClassEmbeddingHook and EpochSeedHook on small fakes."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from stftbox.engine.hooks import (CalibrationHook, ClassEmbeddingHook,
                                  EpochSeedHook)


class FakeLogger:
    def info(self, msg):
        pass


def metrics(hm, beta, s=1.0):
    return {'gzsl/S': s, 'gzsl/U': 2.0, 'gzsl/HM': hm, 'gzsl/ZSL': 3.0,
            'gzsl/beta': beta}


def test_calibration_hook_keeps_best_and_writes_meta():
    hook = CalibrationHook()
    runner = SimpleNamespace(epoch=1, logger=FakeLogger())
    hook.after_val_epoch(runner, metrics(10.0, 0.2))
    runner.epoch = 2
    hook.after_val_epoch(runner, metrics(30.0, 0.8, s=5.0))
    runner.epoch = 3
    hook.after_val_epoch(runner, metrics(20.0, 1.4))
    assert hook.best == dict(S=5.0, U=2.0, HM=30.0, ZSL=3.0, beta=0.8,
                             epoch=2)
    ckpt = {'meta': {'epoch': 3}}
    hook.before_save_checkpoint(runner, ckpt)
    assert ckpt['meta']['calibration']['beta'] == 0.8
    restored = CalibrationHook()
    restored.after_load_checkpoint(runner, ckpt)
    assert restored.best == hook.best
    hook.after_val_epoch(runner, {'other/acc': 1.0})  # no GZSL keys: ignored
    assert hook.best['epoch'] == 2


class Recorder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def set_class_embeddings(self, emb, ids):
        self.got = (np.asarray(emb), ids)


def test_class_embedding_hook_train_and_eval_ids():
    emb = np.eye(3, dtype=np.float32)
    loader = lambda seen: SimpleNamespace(dataset=SimpleNamespace(  # noqa
        metainfo=dict(class_embeddings=emb, seen_class_ids=seen)))
    model = Recorder()
    runner = SimpleNamespace(model=model, train_dataloader=loader([0, 2]),
                             val_dataloader=loader([0]),
                             test_dataloader=loader([1]))
    hook = ClassEmbeddingHook()
    hook.before_train(runner)
    assert model.got[1] == [0, 2] and np.array_equal(model.got[0], emb)
    hook.before_val(runner)
    assert model.got[1] is None  # evaluation keeps the training ids
    runner.test_dataloader = SimpleNamespace(
        dataset=SimpleNamespace(metainfo={}))
    with pytest.raises(KeyError, match='class_embeddings'):
        hook.before_test(runner)


def test_epoch_seed_hook_depends_on_seed_and_epoch_only():
    hook = EpochSeedHook()

    def draw(epoch, seed=5):
        random.random(), torch.rand(1)  # disturb the state first
        hook.before_train_epoch(SimpleNamespace(seed=seed, epoch=epoch))
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)
    assert draw(3) != draw(3, seed=6)
