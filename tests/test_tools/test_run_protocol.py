"""The two-stage protocol on the tiny surrogate: stage-2 length and beta come
from stage 1, the summary is complete, and a rerun does not repeat stage 1."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from stftbox.apis import register_all_modules
from stftbox.engine import run_protocol
from stftbox.engine.protocol import stage2_config
from stftbox.fileio import safe_torch_load, sha256_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def demo_cfg(options):
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    cfg.merge_from_dict(options)
    return cfg


def test_stage2_config_drops_validation_and_fixes_beta(surrogate_root,
                                                       short_run):
    cfg = stage2_config(demo_cfg(short_run(surrogate_root)), '/tmp/x', 3,
                        0.6, dict(HM=40.0, epoch=3, beta=0.6,
                                  config_sha256='ab' * 32))
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.train_dataloader.dataset.phase == 'stage_2_train'
    assert cfg.test_dataloader.dataset.phase == 'stage_2_test'
    assert cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.test_evaluator.calibration == 0.6
    assert all('monitor' not in s for s in cfg.param_scheduler)
    hook = [h for h in cfg.custom_hooks if h['type'] == 'CalibrationHook']
    assert hook[0]['best'] == dict(HM=40.0, epoch=3, beta=0.6)


def test_protocol_runs_and_resumes(surrogate_root, short_run, tmp_path):
    cfg = demo_cfg(short_run(surrogate_root, epochs=2, batches=2))
    work = str(tmp_path / 'proto')
    summary = run_protocol(cfg, work)
    stage1 = summary['stage1']
    assert 1 <= stage1['epoch'] <= 2
    assert summary['epochs'] == stage1['epoch']
    assert summary['beta'] == stage1['beta']
    assert set(summary['test']) == {'S', 'U', 'HM', 'ZSL'}
    t = summary['test']
    hm = 0 if t['S'] + t['U'] == 0 else 2 * t['S'] * t['U'] / (t['S'] + t['U'])
    assert t['HM'] == pytest.approx(hm)
    # recorded relative to the work dir (the folder can be moved)
    assert summary['checkpoint'] == f"stage2/epoch_{stage1['epoch']}.pth"
    ckpt_file = osp.join(work, summary['checkpoint'])
    assert summary['checkpoint_sha256'] == sha256_file(ckpt_file)
    # stage 2 does not validate; its checkpoint carries the stage-1 beta
    meta = safe_torch_load(ckpt_file)['meta']
    assert meta['calibration']['beta'] == summary['beta']
    assert meta['calibration']['epoch'] == summary['epochs']
    on_disk = json.loads((tmp_path / 'proto' / 'protocol.json').read_text())
    assert on_disk['test'] == summary['test']

    # a rerun reuses stage 1 and the finished stage-2 checkpoint
    stage1_logs = sorted(os.listdir(osp.join(work, 'stage1')))
    mtime = os.path.getmtime(osp.join(work, 'stage1.json'))
    again = run_protocol(cfg, work)
    assert sorted(os.listdir(osp.join(work, 'stage1'))) == stage1_logs
    assert os.path.getmtime(osp.join(work, 'stage1.json')) == mtime
    assert again['test'] == pytest.approx(summary['test'])
    # another config in the same work dir is refused, not silently reused
    cfg.train_cfg.max_epochs = 3
    with pytest.raises(RuntimeError, match='another config'):
        run_protocol(cfg, work)
