"""The test session's STFTBOX_HOME (root conftest.py) is a fresh temporary
folder, so that no test writes into the user's ~/.cache/stftbox, and the
surrogate config resolves its data root inside it."""
import os
import os.path as osp
import tempfile

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_session_home_is_temporary():
    home = os.environ['STFTBOX_HOME']
    assert osp.isdir(home)
    assert osp.commonpath([home, tempfile.gettempdir()]) == \
        tempfile.gettempdir()
    assert osp.basename(home).startswith('stftbox-home-')
    from stftbox.fileio import get_cache_dir
    assert get_cache_dir() == osp.abspath(home)


def test_surrogate_config_data_root_is_in_the_home(monkeypatch, tmp_path):
    from stftbox.engine import load_config
    monkeypatch.setenv('STFTBOX_HOME', str(tmp_path))
    monkeypatch.chdir(tmp_path)  # another working directory
    cfg = load_config(osp.join(REPO, 'configs', 'stft_demo.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == osp.join(
            str(tmp_path), 'data', 'surrogate_avgzsl', 'UCF')
    monkeypatch.delenv('STFTBOX_HOME')
    cfg = load_config(osp.join(REPO, 'configs', 'stft_demo.py'))
    # mmengine's default of the {{$STFTBOX_HOME:...}} syntax; the dataset
    # and tools expand '~'
    assert cfg.train_dataloader.dataset.data_root == \
        '~/.cache/stftbox/data/surrogate_avgzsl/UCF'
    real = load_config(osp.join(REPO, 'configs', 'stft_ucf.py'))
    assert real.train_dataloader.dataset.data_root == \
        'data/avgzsl_benchmark_non_averaged_datasets/UCF'  # cwd-relative
