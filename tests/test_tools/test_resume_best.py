"""The best checkpoint carries the full training state: --resume from
best_gzsl_HM_epoch_N.pth equals the uninterrupted run; resuming from a
weights-only checkpoint stops with one line naming the resumable file."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from stftbox.engine import ConfigCheckError, check_config
from stftbox.apis import register_all_modules
from stftbox.fileio import safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class Killed(Exception):
    pass


class KillBeforeEpoch(Hook):
    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def before_train_epoch(self, runner):
        if runner.epoch == self.epoch:
            raise Killed


def make_cfg(options, work_dir, **extra):
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    cfg.merge_from_dict(options)
    # an iteration warm-up still running after epoch 1 (2 iterations):
    # a resume that restarts the scheduler trains epoch 2 with other rates
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1,
                                by_epoch=False, begin=0, end=4)]
    cfg.work_dir = str(work_dir)
    cfg.update(extra)
    return cfg


def test_resume_from_best_equals_uninterrupted(surrogate_root, short_run,
                                               tmp_path):
    opts = short_run(surrogate_root, epochs=2, batches=2)
    Runner.from_cfg(make_cfg(opts, tmp_path / 'full')).train()
    part = Runner.from_cfg(make_cfg(opts, tmp_path / 'part'))
    part.register_hook(KillBeforeEpoch(1))
    with pytest.raises(Killed):
        part.train()
    best = tmp_path / 'part' / 'best_gzsl_HM_epoch_1.pth'
    ck = safe_torch_load(best)
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(ck)
    assert ck['meta']['epoch'] == 1 and ck['meta']['iter'] == 2
    cfg = make_cfg(opts, tmp_path / 'resumed', resume=True,
                   load_from=str(best))
    check_config(cfg)  # resumable: no complaint
    Runner.from_cfg(cfg).train()
    full = safe_torch_load(tmp_path / 'full' / 'epoch_2.pth')
    resumed = safe_torch_load(tmp_path / 'resumed' / 'epoch_2.pth')
    assert full['optimizer']['param_groups'][0]['lr'] == pytest.approx(
        resumed['optimizer']['param_groups'][0]['lr'])
    for key, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key


def test_resume_from_weights_only_is_refused(tmp_path):
    weights = tmp_path / 'run' / 'weights.pth'
    weights.parent.mkdir()
    torch.save(dict(state_dict={'w': torch.zeros(2)}, meta={}), weights)
    cfg = make_cfg({}, tmp_path / 'wd', resume=True, load_from=str(weights))
    with pytest.raises(ConfigCheckError) as err:
        check_config(cfg)
    assert str(err.value) == (
        f'resume: {weights} holds weights only (no optimizer/'
        'param_schedulers state), so training would not continue exactly; '
        'no resumable checkpoint is next to it, or start from these '
        'weights with load_from and no --resume')
    full = tmp_path / 'run' / 'epoch_3.pth'
    torch.save(dict(state_dict={}, optimizer={}, param_schedulers=[]), full)
    torch.save(dict(state_dict={}, optimizer={}), tmp_path / 'run' /
               'epoch_2.pth')
    with pytest.raises(ConfigCheckError, match=f'resume from {full} '
                       'instead'):
        check_config(cfg)
    # last_checkpoint names its file relative to the folder (as stftbox
    # writes it); a half-written newest file is never suggested
    (tmp_path / 'run' / 'last_checkpoint').write_text('epoch_2.pth')
    with pytest.raises(ConfigCheckError, match=re.escape(
            f"resume from {tmp_path / 'run' / 'epoch_2.pth'} instead")):
        check_config(cfg)
    (tmp_path / 'run' / 'last_checkpoint').unlink()
    full.write_bytes(full.read_bytes()[:40])
    with pytest.raises(ConfigCheckError, match=re.escape(
            f"resume from {tmp_path / 'run' / 'epoch_2.pth'} instead")):
        check_config(cfg)
    torch.save(dict(state_dict={}, optimizer={}, param_schedulers=[]), full)
    cfg.load_from = str(full)
    check_config(cfg)
