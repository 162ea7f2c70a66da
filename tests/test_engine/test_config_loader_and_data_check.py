"""stftbox.engine.load_config (``stftbox::`` bases, the config's folder on
sys.path) and check_data (data roots checked before the Runner)."""
import os.path as osp
import re
import sys

import pytest
from mmengine.config import Config
from mmengine.config import config as mm_config
from mmengine.config import utils as mm_utils

from stftbox.engine import (add_config_dir_to_path, check_data, load_config,
                            package_config_dir, stftbox_config_scheme)
from stftbox.datasets import DatasetError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_package_configs_are_the_repository_configs():
    assert osp.samefile(package_config_dir(), osp.join(REPO, 'configs'))
    assert osp.isfile(osp.join(package_config_dir(), 'stft_demo.py'))


@pytest.mark.parametrize('base', [
    'stftbox::stft_demo.py', 'stftbox::ablations/stft_demo_no_glp.py'])
def test_stftbox_bases_from_a_folder_outside_the_repository(base, tmp_path):
    cfg_file = tmp_path / 'mine.py'
    cfg_file.write_text(f"_base_ = ['{base}']\ntrain_cfg = dict(max_epochs=9)"
                        "\n")
    cfg = load_config(str(cfg_file))
    ref = Config.fromfile(osp.join(REPO, 'configs', base.split('::')[1]))
    assert cfg.train_cfg.max_epochs == 9
    assert cfg.model.to_dict() == ref.model.to_dict()
    assert cfg.default_scope == 'stftbox'
    # mmengine's scope marks are removed (the Runner would pass the one of
    # collate_fn to the collate function)
    assert '_scope_' not in cfg.pretty_text
    assert cfg.train_dataloader.collate_fn.to_dict() == dict(
        type='stftbox.av_gzsl_collate')


def test_base_file_of_a_subfolder(tmp_path):
    cfg_file = tmp_path / 'm.py'
    cfg_file.write_text("_base_ = ['stftbox::_base_/models/stft.py']\n")
    cfg = load_config(str(cfg_file))
    assert cfg.model.type == 'STFT'
    missing = tmp_path / 'x.py'
    missing.write_text("_base_ = ['stftbox::no_such_config.py']\n")
    with pytest.raises(FileNotFoundError, match='no_such_config'):
        load_config(str(missing))


def test_scheme_changes_nothing_outside_the_context():
    before = {n: getattr(mm_config, n) for n in (
        'is_installed', 'get_installed_path', '_get_package_and_cfg_path')}
    with stftbox_config_scheme():
        assert mm_utils.MODULE2PACKAGE['stftbox'] == 'stftbox'
        assert mm_config.is_installed('stftbox')
        assert not mm_config.is_installed('no_such_package_xyz')
        # other packages keep mmengine's rules (a folder is required)
        with pytest.raises(ValueError):
            mm_config._get_package_and_cfg_path('mmpretrain::x.py')
    assert 'stftbox' not in mm_utils.MODULE2PACKAGE
    for name, value in before.items():
        assert getattr(mm_config, name) is value


def test_custom_imports_next_to_the_config(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, 'path', list(sys.path))
    (tmp_path / 'my_mod_next_to_cfg.py').write_text('VALUE = 41 + 1\n')
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text("custom_imports = dict(imports=['my_mod_next_to_cfg'],"
                        " allow_failed_imports=False)\n")
    load_config(str(cfg_file))
    assert sys.modules['my_mod_next_to_cfg'].VALUE == 42
    assert sys.path[0] == str(tmp_path)
    assert add_config_dir_to_path(str(cfg_file)) is None  # once only
    sys.modules.pop('my_mod_next_to_cfg')


def _cfg(**loaders):
    return Config({k: dict(dataset=v) for k, v in loaders.items()})


def test_check_data_missing_root_without_prepare(tmp_path):
    missing = tmp_path / 'ActivityNet'
    cfg = _cfg(train_dataloader=dict(
        type='AVGZSLDataset', data_root=str(missing),
        dataset_name='ActivityNet', feature_method='main_features'))
    with pytest.raises(DatasetError) as err:
        check_data(cfg)
    assert str(err.value).startswith(f'{missing}: data root not found')
    assert 'download_avgzsl.py activitynet selavi' in str(err.value)
    # a loader the run does not build is not checked
    check_data(cfg, loaders=('val_dataloader',))


def test_check_data_finds_wrapped_datasets_and_prepares(tmp_path,
                                                        monkeypatch):
    from stftbox.registry import FUNCTIONS
    monkeypatch.setenv('STFTBOX_HOME', str(tmp_path))  # made in the cache
    calls = []

    def fake_prepare(data_root, dataset_name, progress=False, size=0):
        calls.append((data_root, dataset_name, progress, size))
        import os
        os.makedirs(data_root)

    name = 'test_fake_prepare_check_data'
    FUNCTIONS.register_module(name=name, module=fake_prepare, force=True)
    try:
        root = tmp_path / 'made'
        ok = tmp_path / 'exists'
        ok.mkdir()
        cfg = _cfg(
            train_dataloader=dict(type='ConcatDataset', datasets=[
                dict(type='AVGZSLDataset', data_root=str(ok)),
                dict(type='AVGZSLDataset', data_root=str(root),
                     dataset_name='UCF',
                     prepare=dict(type=name, size=3))]),
            val_dataloader=dict(type='AVGZSLDataset', data_root=str(root),
                                prepare=dict(type=name, size=3)))
        check_data(cfg, prepare=False)  # left to the dataset
        assert calls == [] and not root.exists()
        check_data(cfg)
        assert calls == [(str(root), 'UCF', True, 3)]  # once, with a bar
        assert root.is_dir()
    finally:
        FUNCTIONS._module_dict.pop(name, None)


def test_check_data_refuses_to_generate_outside_the_cache(tmp_path,
                                                          monkeypatch):
    # a wrong data_root on the surrogate config: one-line missing-data
    # error, nothing generated there (also when left to the dataset)
    from stftbox.registry import FUNCTIONS
    monkeypatch.setenv('STFTBOX_HOME', str(tmp_path / 'home'))
    calls = []
    name = 'test_fake_prepare_outside'
    FUNCTIONS.register_module(name=name, module=lambda **kw: calls.append(kw),
                              force=True)
    try:
        root = tmp_path / 'elsewhere' / 'UCF'
        cfg = _cfg(train_dataloader=dict(type='AVGZSLDataset',
                                         data_root=str(root),
                                         prepare=dict(type=name)))
        for prepare in (True, False):
            with pytest.raises(DatasetError,
                               match=f'^{re.escape(str(root))}: data root '
                               'not found') as err:
                check_data(cfg, prepare=prepare)
            assert '\n' not in str(err.value)
        assert calls == [] and not root.parent.exists()
    finally:
        FUNCTIONS._module_dict.pop(name, None)
