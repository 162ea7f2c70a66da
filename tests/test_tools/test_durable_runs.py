"""A training run survives a half-written checkpoint, a move or copy of its
work dir and a changed schedule on resume; metric keys are checked before
the first epoch, also for mmengine's plain Runner.from_cfg."""
import logging
import os
import os.path as osp
import shutil

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from stftbox.apis import register_all_modules
from stftbox.engine import build_runner
from stftbox.engine.hooks import MetricKeyError
from stftbox.fileio import CheckpointError, safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def make_cfg(options, work_dir, **extra):
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    cfg.update(extra)
    return cfg


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def train(cfg):
    runner = build_runner(cfg)
    lines = Lines()
    MMLogger.get_current_instance().addHandler(lines)
    try:
        runner.train()
    finally:
        MMLogger.get_current_instance().removeHandler(lines)
    return runner, lines.lines


def listing(folder):
    return {f: os.stat(osp.join(folder, f)).st_mtime_ns
            for f in sorted(os.listdir(folder)) if f.endswith('.pth')}


def test_truncated_last_checkpoint_moved_dir_and_new_schedule(
        surrogate_root, short_run, tmp_path):
    wd = tmp_path / 'run'
    sched = [dict(type='MultiStepLR', milestones=[1, 2], gamma=0.1,
                  by_epoch=True)]
    opts = short_run(surrogate_root, epochs=1, batches=1)
    train(make_cfg(opts, wd, param_scheduler=sched))
    # what the run records names its own files relative to its folder
    assert (wd / 'last_checkpoint').read_text() == 'epoch_1.pth'
    info = safe_torch_load(wd / 'epoch_1.pth')['message_hub']['runtime_info']
    assert info['last_ckpt'] == 'epoch_1.pth'
    assert info['best_ckpt'] == 'best_gzsl_HM_epoch_1.pth'

    # the work dir is moved; its original place is kept read-only-watched
    moved = tmp_path / 'moved'
    shutil.copytree(wd, moved)
    before = listing(wd)
    # a crash while epoch_2.pth was written by a run that wrote files in
    # place: half a file, and last_checkpoint already naming it
    shutil.copy(moved / 'epoch_1.pth', moved / 'epoch_2.pth')
    truncate(moved / 'epoch_2.pth')
    (moved / 'last_checkpoint').write_text('epoch_2.pth')
    opts2 = short_run(surrogate_root, epochs=2, batches=1)
    new_sched = [dict(sched[0], gamma=0.5)]
    cfg2 = make_cfg(opts2, moved, resume=True, param_scheduler=new_sched)
    wd_before = cfg2.optim_wrapper.optimizer.get('weight_decay', 0)
    cfg2.optim_wrapper.optimizer.weight_decay = 0.01
    runner, lines = train(cfg2)
    assert (f'resume: {moved / "epoch_2.pth"} (named by last_checkpoint) is '
            'not a readable checkpoint: the zip container is truncated') in '\n'.join(lines)
    assert any(ln.endswith('resuming from epoch_1.pth, the newest complete '
                           'checkpoint') for ln in lines)
    # the config's new gamma applies, and it is said in one line
    assert runner.param_schedulers[0].gamma == 0.5
    assert ("resume: the config changes the checkpoint's schedule; applying "
            'the config: param_scheduler[0].end 1 -> 2, '
            'param_scheduler[0].gamma 0.1 -> 0.5') in lines
    # the optimizer's new weight decay applies too, and is said
    assert runner.optim_wrapper.optimizer.param_groups[0][
        'weight_decay'] == 0.01
    assert ("resume: the config changes the checkpoint's optimizer: "
            f'optimizer param_groups[0].weight_decay {wd_before!r} -> 0.01'
            ) in lines
    assert runner.epoch == 2 and (moved / 'epoch_2.pth').is_file()
    assert (moved / 'last_checkpoint').read_text() == 'epoch_2.pth'
    # nothing at the original place was read-modified or deleted
    assert listing(wd) == before


def test_damaged_load_from_is_one_line(surrogate_root, short_run, tmp_path):
    opts = short_run(surrogate_root, epochs=1, batches=1)
    bad = tmp_path / 'half.pth'
    shutil.copy(osp.join(REPO, 'checkpoints', 'stft_demo_ucf_surrogate.pth'),
                bad)
    truncate(bad)
    runner = build_runner(make_cfg(opts, tmp_path / 'wd',
                                   load_from=str(bad)))
    with pytest.raises(CheckpointError) as err:
        runner.train()
    assert str(err.value).startswith(
        f'load_from: {bad} is not a readable checkpoint: the zip '
        'container is truncated or corrupt (')
    assert not (tmp_path / 'wd' / 'epoch_1.pth').exists()


@pytest.mark.parametrize('key,near', [('gzsl/hm', 'gzsl/HM'),
                                      ('gzsl/H', 'gzsl/HM')])
def test_metric_keys_checked_with_plain_runner(surrogate_root, short_run,
                                               tmp_path, key, near):
    # Runner.from_cfg builds mmengine's Runner (no stftbox tool checks);
    # the checkpoint hook stops before the first epoch
    opts = short_run(surrogate_root, epochs=1, batches=1)
    cfg = make_cfg(opts, tmp_path / 'wd')
    cfg.default_hooks.checkpoint.save_best = key
    cfg.param_scheduler[0].monitor = key
    runner = Runner.from_cfg(cfg)
    assert type(runner) is Runner
    with pytest.raises(MetricKeyError) as err:
        runner.train()
    msg = str(err.value)
    assert msg.startswith(f'default_hooks.checkpoint.save_best: {key!r} is '
                          'not a metric validation reports (it reports '
                          'gzsl/HM, gzsl/S, gzsl/U, gzsl/ZSL, gzsl/beta); '
                          f"did you mean '{near}'?")
    assert f'param_scheduler[0].monitor: {key!r}' in msg
    assert '\n' not in msg
    assert not (tmp_path / 'wd' / 'epoch_1.pth').exists()


def test_safetensors_load_from_starts_a_run(surrogate_root, short_run,
                                            tmp_path):
    """``load_from`` may name the zoo's ``.safetensors`` weights (no
    pickle): the check accepts it and the run starts from them."""
    import torch
    opts = short_run(surrogate_root, epochs=1, batches=1)
    st = osp.join(REPO, 'checkpoints', 'stft_demo_ucf_surrogate.safetensors')
    want = safe_torch_load(st)['state_dict']
    runner = build_runner(make_cfg(opts, tmp_path / 'wd', load_from=st))
    runner.load_or_resume()  # what train() does first
    got = runner.model.state_dict()
    for key, value in want.items():
        assert torch.equal(got[key].cpu(), value.cpu()), key
