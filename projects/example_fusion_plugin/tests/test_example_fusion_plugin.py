"""Tests of the example fusion plugin: the fusion itself, its config, and
training with it from a copy of the plugin folder outside the repository."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(osp.dirname(PROJECT))
CONFIG = osp.join(PROJECT, 'stft_demo_mlb_fusion.py')

if PROJECT not in sys.path:
    sys.path.insert(0, PROJECT)

from stftbox_fusion_plugin import MLBFusion  # noqa: E402
from stftbox.registry import FUSIONS, MODELS  # noqa: E402


def _mlb(**kw):
    cfg = dict(type='MLBFusion', r_channels=6, s_channels=5, out_channels=4,
               rank=3)
    cfg.update(kw)
    return FUSIONS.build(cfg).double()


def test_registered_in_stftbox_fusions():
    assert FUSIONS.get('MLBFusion') is MLBFusion
    # also found from the parent registry under the child's scope
    assert MODELS.get('fusions.MLBFusion') is MLBFusion


def test_shapes_and_broadcasting():
    torch.manual_seed(0)
    fuse = _mlb()
    r = torch.randn(3, 6, dtype=torch.double)          # [B, d_r]
    s = torch.randn(3, 5, dtype=torch.double)          # [B, d_s]
    assert fuse(r, s).shape == (3, 4)
    steps = torch.randn(7, 3, 5, dtype=torch.double)   # [T, B, d_s]
    y = fuse(r, steps)
    assert y.shape == (7, 3, 4)
    torch.testing.assert_close(y[2], fuse(r, steps[2]))


def test_without_activation_is_bilinear_in_each_input():
    torch.manual_seed(1)
    fuse = _mlb(activation=None)
    for lin in (fuse.proj_r, fuse.proj_s, fuse.proj_o):
        torch.nn.init.zeros_(lin.bias)
    r = torch.randn(4, 6, dtype=torch.double)
    s = torch.randn(4, 5, dtype=torch.double)
    torch.testing.assert_close(fuse(2.0 * r, s), 2.0 * fuse(r, s))
    torch.testing.assert_close(fuse(r, -3.0 * s), -3.0 * fuse(r, s))


def test_errors():
    with pytest.raises(ValueError, match='rank'):
        _mlb(rank=0)
    with pytest.raises(ValueError, match='activation'):
        _mlb(activation='NoSuchAct')
    fuse = _mlb()
    with pytest.raises(ValueError, match='expected r'):
        fuse(torch.randn(2, 5).double(), torch.randn(2, 5).double())
    with pytest.raises(ValueError, match='broadcast'):
        fuse(torch.randn(2, 6).double(), torch.randn(3, 5).double())


def test_config_builds_stft_with_plugin_fusion():
    from stftbox.apis import register_all_modules
    from stftbox.engine import load_config
    register_all_modules()
    cfg = load_config(CONFIG)
    assert cfg.custom_imports.imports == ['stftbox_fusion_plugin']
    assert not any(k.startswith('__') for k in cfg.keys())
    model = MODELS.build(cfg.model)
    kinds = [type(m).__name__ for m in model.modules()]
    # one module shared by the pooled and per-step scales (share_fusion)
    assert kinds.count('MLBFusion') == 1
    assert 'TuckerFusion' not in kinds


def _fake_text_encoder(names):
    out = np.stack([np.random.default_rng(sum(map(ord, n))).standard_normal(
        384) for n in names]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_train_from_a_folder_outside_the_repository(tmp_path):
    """The plugin copied to a folder outside the repository, trained with
    ``python <repo>/tools/train.py stft_demo_mlb_fusion.py`` started in
    that folder: the config inherits ``stftbox::stft_demo.py`` and its
    ``custom_imports`` finds the package next to it (neither installed nor
    on PYTHONPATH). One epoch of two batches on a tiny surrogate."""
    from stftbox.datasets import make_surrogate_avgzsl
    plugin = tmp_path / 'my_plugin'
    shutil.copytree(osp.join(PROJECT, 'stftbox_fusion_plugin'),
                    plugin / 'stftbox_fusion_plugin')
    shutil.copy(CONFIG, plugin)
    data_root = make_surrogate_avgzsl(str(tmp_path / 'UCF'), seed=0,
                                      max_clips_per_class=3,
                                      text_encoder=_fake_text_encoder)
    opts = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=16',
            'train_dataloader.sampler.batch_size=16',
            'train_dataloader.sampler.num_batches=2']
    for split in ('train', 'val', 'test'):
        key = f'{split}_dataloader'
        opts += [f'{key}.num_workers=0', f'{key}.persistent_workers=False',
                 f'{key}.dataset.data_root={data_root}',
                 f'{key}.dataset.prepare.max_clips_per_class=3']
    # stftbox itself comes from the installation (or, in a checkout that
    # is not installed, from PYTHONPATH=<repo>); the plugin from nowhere
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'),
         'stft_demo_mlb_fusion.py', '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', *opts],
        cwd=plugin, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Best validation' in proc.stdout
    ckpt = sorted((tmp_path / 'work').glob('epoch_*.pth'))
    assert ckpt
    from stftbox.fileio import safe_torch_load
    keys = safe_torch_load(ckpt[0])['state_dict']
    assert any('proj_r' in k for k in keys)  # MLBFusion's parameters
    assert not any(k.endswith('core') for k in keys)  # no Tucker core
    assert not (plugin / 'data').exists()
