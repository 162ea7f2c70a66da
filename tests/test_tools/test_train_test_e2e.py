"""End-to-end: tools/train.py and tools/test.py on the demo config, exact
resume, the missing-data message, and a 2-process gloo (DDP) run."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook

from stftbox.fileio import safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCORE_ROW = re.compile(r'^\s*([\d.]+) \|\s+([\d.]+) \|\s+([\d.]+) \|\s+'
                       r'([\d.]+)\s*$', re.M)


def run(args, timeout=600, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def cfg_args(options):
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()]


def test_train_then_test_demo(surrogate_root, short_run, tmp_path):
    work = tmp_path / 'work'
    res = run(['tools/train.py', 'configs/stft_demo.py', '--work-dir',
               str(work)] + cfg_args(short_run(surrogate_root)))
    assert res.returncode == 0, res.stderr[-3000:]
    scores = SCORE_ROW.findall(res.stdout)
    assert scores, res.stdout[-2000:]
    s, u, hm, zsl = map(float, scores[-1])
    assert 0 <= s <= 100 and 0 <= u <= 100 and 0 <= zsl <= 100
    expected_hm = 0 if s + u == 0 else 2 * s * u / (s + u)
    assert hm == pytest.approx(expected_hm, abs=0.02)
    ckpt = work / 'epoch_2.pth'
    meta = safe_torch_load(ckpt)['meta']
    assert set(meta['calibration']) >= {'beta', 'epoch', 'HM'}
    assert 0.0 <= meta['calibration']['beta'] <= 3.0

    out = tmp_path / 'test.json'
    res = run(['tools/test.py', 'configs/stft_demo.py', str(ckpt), '--out',
               str(out), '--work-dir', str(tmp_path / 'test')] +
              cfg_args(short_run(surrogate_root)))
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads(out.read_text())
    assert metrics['gzsl/beta'] == pytest.approx(meta['calibration']['beta'])
    assert set(metrics) >= {'gzsl/S', 'gzsl/U', 'gzsl/HM', 'gzsl/ZSL'}
    assert SCORE_ROW.search(res.stdout)


def build_runner(options, work_dir, **extra):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from stftbox.apis import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    cfg.update(extra)
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    return Runner.from_cfg(cfg)


class Killed(Exception):
    pass


class KillBeforeEpoch(Hook):
    """Stops a run as a kill would: after epoch ``epoch`` was saved."""

    priority = 'LOWEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def before_train_epoch(self, runner):
        if runner.epoch == self.epoch:
            raise Killed


def test_resume_equals_uninterrupted(surrogate_root, short_run, tmp_path):
    # the plateau scheduler never sees an improvement (abs threshold 1e9),
    # so it lowers the learning rate after validation 2: a resume that
    # misses that scheduler step trains epoch 3 with another rate
    opts = short_run(surrogate_root, epochs=3, batches=2)
    opts['param_scheduler'] = [dict(
        type='ReduceOnPlateauLR', monitor='gzsl/HM', rule='greater',
        factor=0.5, patience=0, threshold=1e9, threshold_rule='abs')]
    build_runner(opts, tmp_path / 'full').train()
    killed = build_runner(opts, tmp_path / 'part')
    killed.register_hook(KillBeforeEpoch(2))
    with pytest.raises(Killed):
        killed.train()
    assert not (tmp_path / 'part' / 'epoch_3.pth').exists()
    build_runner(opts, tmp_path / 'part', resume=True,
                 load_from=str(tmp_path / 'part' / 'epoch_2.pth')).train()
    full = safe_torch_load(tmp_path / 'full' / 'epoch_3.pth')
    part = safe_torch_load(tmp_path / 'part' / 'epoch_3.pth')
    assert full['optimizer']['param_groups'][0]['lr'] < 1e-3
    assert full['state_dict'].keys() == part['state_dict'].keys()
    for key, value in full['state_dict'].items():
        assert torch.equal(value, part['state_dict'][key]), key
    assert full['meta']['calibration'] == part['meta']['calibration']
    # and differs from a run with another seed (the check can fail)
    other = dict(opts, **{'randomness.seed': 7})
    build_runner(other, tmp_path / 'other').train()
    seeded = safe_torch_load(tmp_path / 'other' / 'epoch_3.pth')
    assert any(not torch.equal(v, seeded['state_dict'][k])
               for k, v in full['state_dict'].items())


def test_missing_real_data_is_one_clear_line(tmp_path):
    missing = tmp_path / 'nowhere' / 'VGGSound'
    opts = {f'{s}_dataloader.dataset.data_root': str(missing)
            for s in ('train', 'val', 'test')}
    res = run(['tools/train.py', 'configs/stft_vggsound.py', '--work-dir',
               str(tmp_path / 'w')] + cfg_args(opts), timeout=120)
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr
    err = res.stderr.strip().splitlines()[-1]
    assert str(missing) in err and 'vggsound-supervised-temporal.zip' in err


def test_two_process_gloo_training(surrogate_root, short_run, tmp_path):
    opts = short_run(surrogate_root, epochs=1, batches=2, batch_size=8)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29611', 'tools/train.py', 'configs/stft_demo.py',
         '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'ddp')] +
        cfg_args(opts), cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    # the runtime environment is in the log file (not on the console)
    logs = list((tmp_path / 'ddp').glob('*/*.log'))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for world size
    assert SCORE_ROW.search(res.stdout)
    assert (tmp_path / 'ddp' / 'epoch_1.pth').exists()
    # the summary is printed by rank 0 only
    assert res.stdout.count('Best validation (epoch') == 1
    # a second fresh run into the same work dir works; the first run's
    # checkpoints move into its own <timestamp>/ folder (rank 0 moves them)
    before = (tmp_path / 'ddp' / 'epoch_1.pth').read_bytes()
    first = logs[0].parent
    again = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29612', 'tools/train.py', 'configs/stft_demo.py',
         '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'ddp')] +
        cfg_args(opts), cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count('held the checkpoints of an earlier run') == 1
    assert (first / 'epoch_1.pth').read_bytes() == before
    assert (tmp_path / 'ddp' / 'epoch_1.pth').is_file()
    assert len(list((tmp_path / 'ddp').glob('*/*.log'))) == 2
