"""StftboxRunner's console filter and its checkpoint saving without
mmengine's deprecated FileClient."""
import logging

import pytest

from mmengine.fileio import FileClient
from mmengine.hooks import checkpoint_hook
from mmengine.runner import checkpoint

from stftbox.engine.runner import (FileOnlyStartupFilter,
                                   file_client_on_request)


def _record(msg):
    return logging.LogRecord('mmengine', logging.INFO, __file__, 1, msg,
                             None, None)


def test_filter_drops_only_the_startup_dump():
    f = FileOnlyStartupFilter()
    for dump in ('\n' + '-' * 60 + '\nSystem environment:\n    Python: 3',
                 'Config:\nmodel = dict()',
                 'Hooks will be executed in the following order:\nbefore_run',
                 'Distributed training is not used, all SyncBatchNorm (SyncBN)'
                 ' layers ...'):
        assert not f.filter(_record(dump))
    for keep in ('Epoch(train) [1][5/25]  lr: 1.0000e-03', 'Config: x',
                 'Checkpoints will be saved to work_dirs/x.',
                 'System environment'):
        assert f.filter(_record(keep))
    assert f.filter(_record(RuntimeError('not a str')))


def test_file_client_on_request():
    with file_client_on_request():
        # what mmengine 0.10 calls in CheckpointHook.before_train and in
        # save_checkpoint with file_client_args=None
        assert checkpoint_hook.FileClient.infer_client(None, '/tmp/x') is None
        assert checkpoint.FileClient.infer_client(None, '/tmp/x') is None
        # with arguments it is mmengine's own client
        client = checkpoint.FileClient.infer_client(dict(backend='disk'),
                                                    '/tmp/x')
        assert isinstance(client, FileClient)
    assert checkpoint_hook.FileClient is FileClient
    assert checkpoint.FileClient is FileClient


def test_no_workers_drops_persistence():
    # case 39: the shipped val/test loaders set persistent_workers=True;
    # num_workers=0 (debugging) must not stop on PyTorch's ValueError
    import torch
    from mmengine.config import ConfigDict

    from stftbox.engine.runner import (StftboxRunner,
                                       drop_persistence_without_workers)
    cfg = ConfigDict(dataset=dict(type='AVGZSLDataset'),
                     sampler=dict(type='DefaultSampler', shuffle=False),
                     batch_size=2, num_workers=0, persistent_workers=True)
    out = drop_persistence_without_workers(cfg)
    assert out['persistent_workers'] is False
    assert cfg['persistent_workers'] is True  # the config is not changed
    keep = dict(cfg, num_workers=2)
    assert drop_persistence_without_workers(keep) is keep
    with pytest.raises(ValueError, match='persistent_workers option'):
        torch.utils.data.DataLoader(list(range(4)), num_workers=0,
                                    persistent_workers=True)
    loader = StftboxRunner.build_dataloader(
        dict(cfg, dataset=list(range(4))), seed=0)
    assert [list(map(int, b)) for b in loader] == [[0, 1], [2, 3]]
    assert loader.persistent_workers is False
