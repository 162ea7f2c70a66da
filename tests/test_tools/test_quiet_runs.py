"""What a run prints: the start-up dump only in the log file, no warnings
from causes we control, a missing-data error as the only output, the
bundled surrogate generated in STFTBOX_HOME from any working directory, and
--vis-backend."""
import glob
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO, 'tools', 'train.py')


def run(args, cwd, home, timeout=600):
    env = dict(os.environ, STFTBOX_HOME=str(home), OMP_NUM_THREADS='1',
               PYTHONPATH=REPO)
    res = subprocess.run([sys.executable] + args, cwd=str(cwd), env=env,
                         capture_output=True, timeout=timeout)
    # decoded by hand: text=True would turn the progress bars' \r into \n
    res.stdout = res.stdout.decode('utf-8', 'replace')
    res.stderr = res.stderr.decode('utf-8', 'replace')
    return res


def short_opts(extra=()):
    opts = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=16',
            'train_dataloader.sampler.batch_size=16',
            'train_dataloader.sampler.num_batches=2',
            'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return ['--cfg-options'] + opts + list(extra)


def test_demo_from_another_folder_is_quiet_and_uses_stftbox_home(tmp_path):
    """The demo config, run from a folder that is not the repository with
    the default data_root: the surrogate goes to $STFTBOX_HOME (not to
    ./data), the console has no start-up dump and no warning, the log file
    has the dump."""
    home, cwd = tmp_path / 'home', tmp_path / 'elsewhere'
    cwd.mkdir()
    prep = [f'{s}_dataloader.dataset.prepare.max_clips_per_class=2'
            for s in ('train', 'val', 'test')]
    res = run([TRAIN, osp.join(REPO, 'configs', 'stft_demo.py'),
               '--work-dir', str(tmp_path / 'work')] + short_opts(prep),
              cwd, home)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    out = res.stdout + res.stderr
    root = home / 'data' / 'surrogate_avgzsl' / 'UCF'
    assert (root / '.stftbox_surrogate.json').is_file()
    assert not (cwd / 'data').exists()
    assert os.listdir(cwd) == []
    for dump in ('System environment', 'Config:',
                 'Hooks will be executed'):
        assert dump not in out
    for noise in ('WARNING', 'Failed to search registry', 'FileClient',
                  'HardDiskBackend', 'deprecated'):
        assert noise not in out, [ln for ln in out.splitlines()
                                  if noise in ln]
    assert 'Epoch(train) [1][2/2]' in res.stdout
    assert 'Best validation' in res.stdout
    assert glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' /
                         'scalars.json'))
    # lines on a terminal (progress bars redraw one line with \r); the
    # start-up dump alone was ~320 lines before
    assert out.count('\n') < 40, out.count('\n')
    logs = glob.glob(str(tmp_path / 'work' / '*' / '*.log'))
    assert len(logs) == 1
    with open(logs[0], encoding='utf-8') as f:
        log = f.read()
    for dump in ('System environment', 'Config:',
                 'Hooks will be executed', 'Epoch(train) [1][2/2]'):
        assert dump in log


def test_missing_data_error_is_the_only_output(tmp_path):
    missing = tmp_path / 'nowhere' / 'VGGSound'
    opts = ['--cfg-options'] + [f'{s}_dataloader.dataset.data_root={missing}'
                                for s in ('train', 'val', 'test')]
    res = run([TRAIN, osp.join(REPO, 'configs', 'stft_vggsound.py'),
               '--work-dir', str(tmp_path / 'w')] + opts, tmp_path,
              tmp_path / 'home', timeout=120)
    assert res.returncode == 1
    assert res.stdout == ''
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines[:5]
    assert lines[0].startswith(f'error: {missing}: data root not found')
    assert 'vggsound-supervised-temporal.zip' in lines[0]
    assert not (tmp_path / 'w').exists()  # nothing was started


def test_vis_backend_tensorboard(surrogate_root, tmp_path):
    if importlib.util.find_spec('tensorboard') is None:
        pytest.skip('tensorboard is not installed (pip install tensorboard)')
    opts = [f'{s}_dataloader.dataset.data_root={surrogate_root}'
            for s in ('train', 'val', 'test')]
    res = run([TRAIN, osp.join(REPO, 'configs', 'stft_demo.py'),
               '--work-dir', str(tmp_path / 'work'), '--vis-backend',
               'tensorboard'] + short_opts(opts), tmp_path,
              tmp_path / 'home')
    assert res.returncode == 0, res.stderr[-3000:]
    vis = glob.glob(str(tmp_path / 'work' / '*' / 'vis_data'))
    assert len(vis) == 1
    files = os.listdir(vis[0])
    assert 'scalars.json' in files
    assert any(f.startswith('events.out.tfevents') for f in files)


def test_set_vis_backend_and_missing_package(monkeypatch):
    from mmengine.config import Config

    from stftbox.engine import runtime, set_vis_backend
    cfg = Config(dict(visualizer=dict(type='Visualizer', vis_backends=[
        dict(type='LocalVisBackend')])))
    set_vis_backend(cfg, 'local')
    assert cfg.visualizer.vis_backends == [dict(type='LocalVisBackend')]
    monkeypatch.setattr(runtime.importlib.util, 'find_spec', lambda n: 1)
    set_vis_backend(cfg, 'wandb')
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'WandbVisBackend']
    assert cfg.visualizer.type == 'Visualizer'
    monkeypatch.setattr(runtime.importlib.util, 'find_spec',
                        lambda n: None)
    with pytest.raises(ValueError, match='pip install tensorboard'):
        set_vis_backend(cfg, 'tensorboard')
    with pytest.raises(ValueError, match="expected one of"):
        set_vis_backend(cfg, 'visdom')


def test_cfg_options_dict_literals_build_a_visualizer(tmp_path):
    """``--cfg-options "visualizer.vis_backends=[dict(type=...)]"`` was a
    TypeError in mmengine's Visualizer (DictAction keeps the elements as
    strings); parsed by load_config they are dicts."""
    import argparse

    from mmengine.config import DictAction
    from mmengine.visualization import Visualizer

    from stftbox.engine.cli import parse_literals
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args([
        '--cfg-options', "visualizer.vis_backends=[dict(type="
        "'LocalVisBackend'),dict(type='LocalVisBackend')]",
        "a=dict(x=dict(w='q'))", 'b=plain', 'c=[dict(a=b)]'])
    raw = args.cfg_options['visualizer.vis_backends']
    assert raw == ["dict(type='LocalVisBackend')"] * 2  # mmengine's parse
    opts = parse_literals(args.cfg_options)
    assert opts['visualizer.vis_backends'] == [
        dict(type='LocalVisBackend')] * 2
    assert opts['a'] == dict(x=dict(w='q'))
    assert opts['b'] == 'plain'
    assert opts['c'] == ['dict(a=b)']  # not a literal: left as it is
    vis = Visualizer(name=f'v{id(opts)}', save_dir=str(tmp_path),
                     vis_backends=opts['visualizer.vis_backends'][:1])
    assert type(vis.get_backend('LocalVisBackend')).__name__ == \
        'LocalVisBackend'


def test_test_tool_reports_missing_data_first(tmp_path):
    """tools/test.py checks the data before it looks for the checkpoint
    (which may be a long download)."""
    missing = tmp_path / 'nowhere' / 'UCF'
    res = run([osp.join(REPO, 'tools', 'test.py'),
               osp.join(REPO, 'configs', 'stft_ucf.py'), 'no_such.pth',
               '--work-dir', str(tmp_path / 'w'), '--cfg-options',
               f'test_dataloader.dataset.data_root={missing}'], tmp_path,
              tmp_path / 'home', timeout=120)
    assert res.returncode == 1 and res.stdout == ''
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f'error: {missing}: data root not found')
