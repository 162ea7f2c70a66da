"""A fresh run never silently overwrites another run's checkpoints, and
summaries print on rank 0 only."""
import os
import subprocess
import sys

import pytest
from mmengine.config import Config

from stftbox.engine import WorkDirInUseError, check_work_dir, print_scores
from stftbox.engine.work_dir_guard import existing_checkpoints

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def cfg_for(work_dir, **extra):
    return Config(dict(work_dir=str(work_dir), default_hooks=dict(
        checkpoint=dict(type='CheckpointHook')), **extra))


def test_fresh_run_over_checkpoints_is_refused(tmp_path):
    wd = tmp_path / 'wd'
    check_work_dir(cfg_for(wd))  # no folder yet
    wd.mkdir()
    (wd / '20261201_120000').mkdir()  # a log folder is no checkpoint
    check_work_dir(cfg_for(wd))
    for name in ('epoch_5.pth', 'best_gzsl_HM_epoch_4.pth',
                 'last_checkpoint'):
        (wd / name).write_text('x')
    assert existing_checkpoints(str(wd)) == [
        'best_gzsl_HM_epoch_4.pth', 'epoch_5.pth', 'last_checkpoint']
    with pytest.raises(WorkDirInUseError) as err:
        check_work_dir(cfg_for(wd))
    assert str(err.value) == (
        f'{wd} already holds checkpoints of another run '
        '(best_gzsl_HM_epoch_4.pth, epoch_5.pth, last_checkpoint); pass '
        '--resume to continue that run, --force to delete them and start '
        'afresh, or choose another --work-dir')
    check_work_dir(cfg_for(wd, resume=True))  # continuing is fine
    assert len(existing_checkpoints(str(wd))) == 3
    check_work_dir(cfg_for(wd), force=True)  # afresh: old files removed
    assert existing_checkpoints(str(wd)) == []
    assert (wd / '20261201_120000').is_dir()


def test_checkpoint_out_dir_is_checked(tmp_path):
    out = tmp_path / 'ckpts'
    (out / 'wd').mkdir(parents=True)
    (out / 'wd' / 'epoch_1.pth').write_text('x')
    cfg = cfg_for(tmp_path / 'wd')
    cfg.default_hooks.checkpoint.out_dir = str(out)
    with pytest.raises(WorkDirInUseError, match='epoch_1.pth'):
        check_work_dir(cfg)


def test_print_scores_on_rank_0_only(capsys, monkeypatch):
    import mmengine.dist
    print_scores({'S': 1.0, 'U': 2.0, 'HM': 1.33, 'ZSL': 3.0}, title='t')
    assert capsys.readouterr().out.count('t\n') == 1
    monkeypatch.setattr(mmengine.dist, 'is_main_process', lambda: False)
    print_scores({'S': 1.0, 'U': 2.0, 'HM': 1.33, 'ZSL': 3.0}, title='t')
    assert capsys.readouterr().out == ''


def test_train_tool_refuses_an_occupied_work_dir(tmp_path):
    wd = tmp_path / 'wd'
    wd.mkdir()
    (wd / 'epoch_6.pth').write_text('x')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/stft_demo.py',
         '--work-dir', str(wd)], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=300)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith(
        f'error: {wd} already holds checkpoints of another run '
        '(epoch_6.pth)')
    assert (wd / 'epoch_6.pth').read_text() == 'x'
