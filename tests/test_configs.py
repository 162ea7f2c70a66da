"""Every config under configs/ and in projects/*/ parses and its model
builds; the demo baselines / ablations share the schedule and seed of
configs/stft_demo.py; one baseline trains end to end (smoke test)."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel

from stftbox.engine import load_config
from stftbox.apis import register_all_modules
from stftbox.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STFT_DEMO = osp.join(REPO, 'configs', 'stft_demo.py')


def _rel(path):
    return osp.relpath(path, REPO)


def all_configs():
    """Every runnable config: configs/**.py except configs/_base_/ and the
    projects' configs."""
    found = glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    found = [p for p in found
             if osp.join('configs', '_base_') not in _rel(p)]
    found += glob.glob(osp.join(REPO, 'projects', '*', '*.py'))
    return sorted(_rel(p) for p in found)


def demo_configs():
    """Configs that must share stft_demo's data, schedule and seed."""
    return [p for p in all_configs()
            if p.startswith(('configs/baselines', 'configs/ablations',
                             'projects')) and 'demo' in osp.basename(p)]


def test_config_list_is_complete():
    names = set(all_configs())
    for expected in [
            'configs/stft_demo.py', 'configs/avgzsl_baseline_demo.py',
            'configs/baselines/tcaf_demo.py', 'configs/baselines/avca_demo.py',
            'configs/baselines/spiking_avca_demo.py',
            'configs/baselines/tcaf_ucf.py', 'configs/baselines/avca_ucf.py',
            'configs/baselines/spiking_avca_ucf.py',
            'configs/ablations/stft_demo_no_glp.py',
            'configs/ablations/stft_demo_no_tsf.py',
            'configs/ablations/stft_demo_fixed_threshold.py',
            'configs/ablations/stft_demo_concat_fusion.py',
            'configs/ablations/stft_demo_bilinear_fusion.py',
            'projects/example_fusion_plugin/stft_demo_mlb_fusion.py'
    ]:
        assert expected in names


@pytest.mark.parametrize('config', all_configs())
def test_config_builds_model(config):
    register_all_modules()
    cfg = load_config(osp.join(REPO, config))
    model = MODELS.build(cfg.model)
    assert isinstance(model, BaseModel)
    assert sum(p.numel() for p in model.parameters()) > 0
    if 'train_dataloader' in cfg:  # a runnable config, not a model part
        assert cfg.default_scope == 'stftbox'
        assert cfg.train_cfg.max_epochs >= 1


def _schedule(cfg):
    loader = cfg.train_dataloader
    return dict(
        train_cfg=cfg.train_cfg.to_dict(),
        optim_wrapper=cfg.optim_wrapper.to_dict(),
        param_scheduler=[dict(s) for s in cfg.param_scheduler],
        randomness=cfg.randomness.to_dict(),
        batch_size=loader.batch_size,
        sampler=loader.sampler.to_dict(),
        train_data=loader.dataset.to_dict(),
        val_data=cfg.val_dataloader.dataset.to_dict(),
        val_evaluator=cfg.val_evaluator.to_dict())


@pytest.mark.parametrize('config', demo_configs())
def test_demo_configs_share_stft_demo_schedule(config):
    ref = _schedule(Config.fromfile(STFT_DEMO))
    got = _schedule(load_config(osp.join(REPO, config)))
    for key in ref:
        assert got[key] == ref[key], f'{config}: {key} differs from stft_demo'


def _ablation_backbone(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'ablations', name))
    return MODELS.build(cfg.model).backbone


def test_ablations_change_what_they_say():
    register_all_modules()
    blocks = _ablation_backbone('stft_demo_no_glp.py').snn_branch.blocks
    assert all(b.pooling is None for b in blocks)
    assert _ablation_backbone('stft_demo_no_tsf.py').snn_branch.tsf is None
    neuron = _ablation_backbone(
        'stft_demo_fixed_threshold.py').snn_branch.blocks[0].neuron
    assert type(neuron).__name__ == 'LIFNode'
    for name, typ in [('stft_demo_concat_fusion.py', 'ConcatFusion'),
                      ('stft_demo_bilinear_fusion.py', 'BilinearFusion')]:
        fusion = _ablation_backbone(name).fusion
        kinds = {type(m).__name__ for m in fusion.modules()}
        assert typ in kinds and 'TuckerFusion' not in kinds


def _fake_text_encoder(names):
    """Cheap deterministic 384-d stand-in for MiniLM."""
    out = np.stack([np.random.default_rng(sum(map(ord, n))).standard_normal(
        384) for n in names]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def tiny_surrogate(root):
    """A small surrogate UCF (3 clips a class) matching the demo configs'
    ``prepare`` (seed 0) with ``max_clips_per_class=3``."""
    from stftbox.datasets import make_surrogate_avgzsl
    return make_surrogate_avgzsl(root, seed=0, max_clips_per_class=3,
                                 text_encoder=_fake_text_encoder)


def smoke_options(data_root, work_dir):
    """cfg-options for a one-epoch, two-batch run on ``data_root``."""
    opts = {'work_dir': work_dir, 'train_cfg.max_epochs': 1,
            'train_dataloader.sampler.num_batches': 2,
            'train_dataloader.batch_size': 16,
            'train_dataloader.sampler.batch_size': 16}
    for split in ('train', 'val', 'test'):
        key = f'{split}_dataloader'
        opts.update({f'{key}.num_workers': 0,
                     f'{key}.persistent_workers': False,
                     f'{key}.dataset.data_root': data_root,
                     f'{key}.dataset.prepare.max_clips_per_class': 3})
    return opts


def test_smoke_train_avca_demo(tmp_path):
    from mmengine.runner import Runner
    register_all_modules()
    data_root = tiny_surrogate(str(tmp_path / 'UCF'))
    cfg = Config.fromfile(osp.join(REPO, 'configs/baselines/avca_demo.py'))
    cfg.merge_from_dict(smoke_options(data_root, str(tmp_path / 'work')))
    runner = Runner.from_cfg(cfg)
    runner.train()
    best = next(h.best for h in runner.hooks
                if type(h).__name__ == 'CalibrationHook')
    assert set(best) >= {'S', 'U', 'HM', 'ZSL', 'beta', 'epoch'}
    assert best['epoch'] == 1
    ckpts = glob.glob(str(tmp_path / 'work' / '*.pth'))
    assert ckpts
    meta = torch.load(ckpts[0], map_location='cpu', weights_only=True)['meta']
    assert meta['calibration']['HM'] == best['HM']
