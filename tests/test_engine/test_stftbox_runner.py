"""StftboxRunner's console filter and the log filter of mmengine's
FileClient deprecation notes."""
import logging

import pytest

from stftbox.engine.runner import (FileOnlyStartupFilter,
                                   MMEngineDeprecationFilter)


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


def test_deprecation_filter_drops_only_the_file_client_notes():
    f = MMEngineDeprecationFilter()
    for note in ('"FileClient" will be deprecated in future. Please use io',
                 '"HardDiskBackend" is the alias of "LocalBackend" and the '
                 'former will be deprecated in future.'):
        assert not f.filter(_record(note))
    assert f.filter(_record('"file_client_args" will be deprecated in'))
    assert f.filter(_record('FileClient'))


def test_runner_logger_drops_the_notes_mmengine_logs(tmp_path):
    """Creating mmengine's FileClient (as its checkpoint code does) logs
    the notes to the current logger; the runner's logger drops them and
    keeps other warnings."""
    from mmengine.fileio import FileClient
    from mmengine.logging import print_log

    from stftbox.engine.runner import StftboxRunner
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    stub = StftboxRunner.__new__(StftboxRunner)  # no config needed
    stub._experiment_name = 'stftbox_filter_test'
    stub._log_dir = str(tmp_path)
    logger = stub.build_logger(log_file=str(tmp_path / 'x.log'))
    logger.addHandler(Keep())
    FileClient(backend='disk')  # logs both notes in mmengine 0.10
    print_log('another warning', logger='current', level=logging.WARNING)
    assert records == ['another warning']
    # control: without the filter the same call logs both notes
    for f in [f for f in logger.filters
              if isinstance(f, MMEngineDeprecationFilter)]:
        logger.removeFilter(f)
    FileClient(backend='disk')
    assert len(records) == 2  # the backend instance is cached by now
    assert records[1].startswith('"FileClient" will be deprecated')


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
