"""A tiny surrogate UCF-GZSL tree (4 clips per class and split), written once
per test session in the real layout, and config overrides that point the
demo configs at it with a short schedule."""
import pytest

from stftbox.datasets import make_surrogate_avgzsl


@pytest.fixture(scope='session')
def surrogate_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('surrogate') / 'UCF'
    make_surrogate_avgzsl(str(root), dataset_name='UCF', seed=0,
                          max_clips_per_class=4)
    return str(root)


def short_run_options(data_root, epochs=2, batches=3, batch_size=16):
    """``--cfg-options`` for a short CPU run of a demo config."""
    opts = {
        'train_cfg.max_epochs': epochs,
        'train_dataloader.batch_size': batch_size,
        'train_dataloader.sampler.batch_size': batch_size,
        'train_dataloader.sampler.num_batches': batches,
        'default_hooks.logger.interval': 1,
    }
    for split in ('train', 'val', 'test'):
        opts[f'{split}_dataloader.dataset.data_root'] = data_root
        opts[f'{split}_dataloader.num_workers'] = 0
        opts[f'{split}_dataloader.persistent_workers'] = False
    return opts


@pytest.fixture
def short_run():
    return short_run_options
