"""stftbox.engine.check_config: config mistakes are found before any data is
read, each in one line naming the key and the closest valid ones; every
shipped config passes."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from stftbox.engine import (ConfigCheckError, check_cfg_options, check_config,
                            load_config, merge_cfg_options)
from stftbox.apis import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'stft_demo.py')


def shipped_configs():
    files = glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    files += glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*.py'))
    files += glob.glob(osp.join(REPO, 'projects', '*', '*.py'))
    return sorted(osp.relpath(f, REPO) for f in files
                  if '/_base_/' not in f and '/_models/' not in f)


@pytest.fixture(scope='module', autouse=True)
def _registered():
    register_all_modules()
    sys.path.insert(0, osp.join(REPO, 'projects', 'example_fusion_plugin'))
    import stftbox_fusion_plugin  # noqa: F401  (registers MLBFusion)
    yield
    sys.path.remove(osp.join(REPO, 'projects', 'example_fusion_plugin'))


@pytest.mark.parametrize('path', shipped_configs())
def test_every_shipped_config_passes(path):
    assert check_config(load_config(osp.join(REPO, path)),
                        raise_error=False) == []


def test_shipped_configs_are_found():
    assert len(shipped_configs()) >= 20
    assert 'configs/stft_demo.py' in shipped_configs()


@pytest.mark.parametrize('key, value, line', [
    ('default_hooks.checkpoint.max_keep_ckpt', 1,
     "default_hooks.checkpoint.max_keep_ckpt: unknown argument of "
     "CheckpointHook; did you mean 'max_keep_ckpts'?"),
    ('train_cfg.max_epoch', 1, "train_cfg.max_epoch: unknown argument of "
     "EpochBasedTrainLoop; did you mean 'max_epochs'?"),
    ('model.backbone.snn_branch.num_block', 2,
     "model.backbone.snn_branch.num_block: unknown argument of SNNBranch; "
     "did you mean 'num_blocks'?"),
    ('model.backbone.snn_branch.neuron.surrogate.alpah', 2.0,
     "unknown argument of ATan; did you mean 'alpha'?"),
    ('model.head.losses.0.margn', 1.0,
     "model.head.losses[0].margn: unknown argument of TripletLoss; did you "
     "mean 'margin'?"),
    ('train_dataloader.num_worker', 1,
     "train_dataloader.num_worker: unknown key; did you mean 'num_workers'"),
    ('train_dataloader.sampler.num_batch', 3,
     "unknown argument of ClassBalancedSampler; did you mean 'num_batches'"),
    ('val_dataloader.dataset.data_rot', 'x',
     "unknown argument of AVGZSLDataset; did you mean 'data_root'"),
    ('val_evaluator.calibraton', 'sweep',
     "unknown argument of GZSLMetric; did you mean 'calibration'?"),
    ('optim_wrapper.optimizer.lrr', 0.1,
     "unknown argument of Adam; did you mean 'lr'?"),
    ('optim_wrapper.clip_grd', None,
     "unknown argument of OptimWrapper; did you mean 'clip_grad'?"),
    ('param_scheduler.0.patiense', 1,
     "unknown argument of ReduceOnPlateauLR; did you mean 'patience'?"),
    ('custom_hooks.1.bst', 1, 'custom_hooks[1].bst: unknown argument of '
     'CalibrationHook'),
    ('env_cfg.cudnn_benchmak', True,
     "env_cfg.cudnn_benchmak: unknown key; did you mean 'cudnn_benchmark'?"),
    ('randomness.sed', 1, "randomness.sed: unknown key; did you mean 'seed'"),
    ('default_hooks.checkpoint.type', 'CheckpointHoook',
     "'CheckpointHoook' is not registered in the 'hook' registry; did you "
     "mean 'CheckpointHook'"),
    ('model.backbone.snn_branch.neuron.type', 'DynamicThresholdLIFF',
     "did you mean 'DynamicThresholdLIF'"),
    ('default_hooks.checkpoint.save_best', 'val/HM',
     "default_hooks.checkpoint.save_best: 'val/HM' is not a metric "
     'validation reports (it reports gzsl/HM, gzsl/S, gzsl/U, gzsl/ZSL, '
     "gzsl/beta); did you mean 'gzsl/HM'?"),
    # the right prefix is not enough: the key itself is checked
    ('default_hooks.checkpoint.save_best', 'gzsl/hm',
     "'gzsl/hm' is not a metric validation reports (it reports gzsl/HM, "
     "gzsl/S, gzsl/U, gzsl/ZSL, gzsl/beta); did you mean 'gzsl/HM'?"),
    ('param_scheduler.0.monitor', 'gzsl/H',
     "param_scheduler[0].monitor: 'gzsl/H' is not a metric validation "
     "reports (it reports gzsl/HM, gzsl/S, gzsl/U, gzsl/ZSL, gzsl/beta); "
     "did you mean 'gzsl/HM'?"),
    ('load_from', '/no/such/file.pth', "load_from: no such checkpoint file"),
])
def test_mistake_is_one_line_naming_key(key, value, line):
    cfg = Config.fromfile(DEMO)
    merge_cfg_options(cfg, {key: value})
    with pytest.raises(ConfigCheckError) as err:
        check_config(cfg)
    assert len(err.value.problems) == 1, err.value.problems
    assert line in err.value.problems[0]
    assert '\n' not in err.value.problems[0]


def test_unknown_cfg_option_key_names_real_key():
    cfg = Config.fromfile(DEMO)
    with pytest.raises(ConfigCheckError) as err:
        merge_cfg_options(cfg, {'max_epochs': 1})
    assert str(err.value) == ("--cfg-options max_epochs: unknown config key "
                              "'max_epochs'; did you mean "
                              "'train_cfg.max_epochs'?")
    assert 'max_epochs' not in cfg  # not merged
    # keys of the file (variables) and Runner keys are fine
    check_cfg_options(cfg, {'embed_dims': 32, 'resume': True,
                            'train_cfg.max_epochs': 1})


def test_near_miss_top_level_key_of_a_file():
    cfg = Config.fromfile(DEMO)
    cfg['trian_cfg'] = dict(max_epochs=1)
    assert check_config(cfg, raise_error=False) == [
        "trian_cfg: not a key the Runner reads; did you mean 'train_cfg'?"]


def test_protocol_refuses_a_stage1_without_validation(tmp_path):
    from stftbox.engine import run_protocol
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict({'train_cfg.val_interval': 10})
    with pytest.raises(ConfigCheckError, match='stage 1 would never'):
        run_protocol(cfg, str(tmp_path / 'wd'))
    assert not (tmp_path / 'wd').exists()


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py',
                                  'tools/run_protocol.py'])
def test_tools_stop_before_reading_data(tool, tmp_path):
    """A typo stops the tool with one error line; the data root does not
    exist, so reading any data would have failed differently."""
    args = [sys.executable, tool, 'configs/stft_demo.py']
    if tool == 'tools/test.py':
        args.append('checkpoints/stft_demo_ucf_surrogate.pth')
    args += ['--work-dir', str(tmp_path / 'wd'), '--cfg-options',
             'default_hooks.checkpoint.max_keep_ckpt=1',
             f'train_dataloader.dataset.data_root={tmp_path / "none"}']
    env = dict(os.environ, STFTBOX_HOME=str(tmp_path / 'home'),
               OMP_NUM_THREADS='1')
    res = subprocess.run(args, cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == (
        "error: default_hooks.checkpoint.max_keep_ckpt: unknown argument of "
        "CheckpointHook; did you mean 'max_keep_ckpts'?")
    assert not (tmp_path / 'none').exists()
    assert 'Traceback' not in res.stderr


def test_new_key_in_a_plain_dict_is_warned(capsys):
    cfg = Config.fromfile(DEMO)
    merge_cfg_options(cfg, {'model.backbone.multi_scale.combin': 'sum'})
    err = capsys.readouterr()
    assert ("--cfg-options model.backbone.multi_scale.combin: "
            "model.backbone.multi_scale has no key 'combin' (it is added); "
            "did you mean 'combine'?") in err.out + err.err
    merge_cfg_options(cfg, {'model.backbone.multi_scale.combine': 'sum'})
    err = capsys.readouterr()
    assert 'has no key' not in err.out + err.err
