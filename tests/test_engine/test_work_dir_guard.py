"""A fresh run never overwrites another run's checkpoints (they move to
the earlier run's folder), and summaries print on rank 0 only."""
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


def test_fresh_run_keeps_the_earlier_runs_checkpoints(tmp_path):
    wd = tmp_path / 'wd'
    assert check_work_dir(cfg_for(wd)) is None  # no folder yet
    wd.mkdir()
    (wd / '20261201_110000').mkdir()  # an older run's logs
    (wd / '20261201_120000').mkdir()  # the earlier run's logs
    assert check_work_dir(cfg_for(wd)) is None  # logs are no checkpoints
    for name in ('epoch_5.pth', 'best_gzsl_HM_epoch_4.pth',
                 'last_checkpoint'):
        (wd / name).write_text(name)
    assert existing_checkpoints(str(wd)) == [
        'best_gzsl_HM_epoch_4.pth', 'epoch_5.pth', 'last_checkpoint']
    assert check_work_dir(cfg_for(wd, resume=True)) is None  # continuing
    assert len(existing_checkpoints(str(wd))) == 3
    # a fresh run: the files go to the run folder started before them
    said = check_work_dir(cfg_for(wd))
    dest = wd / '20261201_120000'
    assert said == (f'{wd} held the checkpoints of an earlier run '
                    '(best_gzsl_HM_epoch_4.pth, epoch_5.pth, '
                    f'last_checkpoint); moved them to {dest}/ next to its '
                    'logs (this run starts afresh; --resume continues a run)')
    assert existing_checkpoints(str(wd)) == []
    assert (dest / 'epoch_5.pth').read_text() == 'epoch_5.pth'
    assert sorted(os.listdir(dest)) == [
        'best_gzsl_HM_epoch_4.pth', 'epoch_5.pth', 'last_checkpoint']
    # a name already in the target: one line, nothing lost
    (wd / 'epoch_5.pth').write_text('new')
    with pytest.raises(WorkDirInUseError, match=r'epoch_5.pth is there '
                       r'already\); pass --resume'):
        check_work_dir(cfg_for(wd))
    assert (wd / 'epoch_5.pth').read_text() == 'new'
    # --force deletes instead
    assert check_work_dir(cfg_for(wd), force=True) is None
    assert existing_checkpoints(str(wd)) == []
    assert (dest / 'epoch_5.pth').read_text() == 'epoch_5.pth'


def test_checkpoints_without_a_run_folder_get_one(tmp_path):
    wd = tmp_path / 'wd'
    wd.mkdir()
    (wd / 'epoch_1.pth').write_text('x')
    os.utime(wd / 'epoch_1.pth', (1764590400, 1764590400))
    said = check_work_dir(cfg_for(wd))
    import time
    name = time.strftime('%Y%m%d_%H%M%S', time.localtime(1764590400))
    assert f'moved them to {wd / name}/' in said
    assert (wd / name / 'epoch_1.pth').read_text() == 'x'


def test_checkpoint_out_dir_is_checked(tmp_path):
    out = tmp_path / 'ckpts'
    (out / 'wd').mkdir(parents=True)
    (out / 'wd' / 'epoch_1.pth').write_text('x')
    cfg = cfg_for(tmp_path / 'wd')
    cfg.default_hooks.checkpoint.out_dir = str(out)
    assert 'epoch_1.pth' in check_work_dir(cfg)
    assert existing_checkpoints(str(out / 'wd')) == []


def test_print_scores_on_rank_0_only(capsys, monkeypatch):
    import mmengine.dist
    print_scores({'S': 1.0, 'U': 2.0, 'HM': 1.33, 'ZSL': 3.0}, title='t')
    assert capsys.readouterr().out.count('t\n') == 1
    monkeypatch.setattr(mmengine.dist, 'is_main_process', lambda: False)
    print_scores({'S': 1.0, 'U': 2.0, 'HM': 1.33, 'ZSL': 3.0}, title='t')
    assert capsys.readouterr().out == ''


def test_train_tool_twice_keeps_the_first_run(tmp_path):
    # the README's job run twice: the second run works, the first run's
    # checkpoint stays (in its own run folder)
    wd = tmp_path / 'wd'
    (wd / '20261201_120000').mkdir(parents=True)
    (wd / 'epoch_6.pth').write_text('x')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/stft_demo.py',
         '--work-dir', str(wd), '--cfg-options', 'train_cfg.max_epochs=0'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert f'moved them to {wd / "20261201_120000"}/' in res.stdout, \
        res.stderr[-2000:]
    assert (wd / '20261201_120000' / 'epoch_6.pth').read_text() == 'x'


@pytest.mark.parametrize('force', [False, True])
def test_fresh_run_keeps_the_file_load_from_reads(tmp_path, force):
    wd = tmp_path / 'wd'
    wd.mkdir()
    for name in ('epoch_3.pth', 'epoch_4.pth', 'last_checkpoint'):
        (wd / name).write_text(name)
    # load_from names the file through another spelling (realpath compared)
    load_from = os.path.join(str(tmp_path), 'wd', '.', 'epoch_4.pth')
    said = check_work_dir(cfg_for(wd, load_from=load_from), force=force)
    assert (wd / 'epoch_4.pth').read_text() == 'epoch_4.pth'
    assert existing_checkpoints(str(wd)) == ['epoch_4.pth']
    assert said.endswith(f'kept {wd}/epoch_4.pth in place '
                         '(load_from reads it)')
    assert '\n' not in said
    if not force:
        assert 'moved them to' in said
