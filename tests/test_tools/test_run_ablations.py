"""Tests of tools/analysis_tools/run_ablations.py without training: result
collection from a fake work dir, the stdout parser and the page."""
import importlib.util
import os.path as osp

import re

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'run_ablations.py')
    spec = importlib.util.spec_from_file_location('run_ablations', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_run_config_exists(tool):
    names = [n for n, _, _ in tool.RUNS]
    assert len(names) == len(set(names)) == 17
    for _, config, _ in tool.RUNS:
        assert osp.isfile(osp.join(REPO, config)), config


def test_scores_from_stdout(tool):
    text = ('noise\nBest validation (epoch 4, beta 0.60)\n'
            '     S |      U |     HM |    ZSL\n'
            ' 30.49 |  16.99 |  21.82 |  19.02\n')
    assert tool.scores_from_stdout(text) == dict(
        S=30.49, U=16.99, HM=21.82, ZSL=19.02, epoch=4, beta=0.6)
    assert tool.scores_from_stdout('no table') is None


def _fake_work_dir(root):
    calib = dict(S=40.0, U=20.0, HM=26.67, ZSL=21.0, beta=0.4, epoch=3)
    torch.save(dict(meta=dict(calibration=calib), state_dict={}),
               str(root / 'best_gzsl_HM_epoch_3.pth'))
    (root / 'wall_time.txt').write_text('123.4\n')
    return calib


def test_collect_and_render(tool, tmp_path):
    calib = _fake_work_dir(tmp_path)
    row = tool.collect('stft_demo', 'configs/stft_demo.py', str(tmp_path))
    assert row['scores'] == calib
    assert row['wall_s'] == pytest.approx(123.4)
    assert row['params'] > 0
    row['clips_per_s'] = 250.0
    page = tool.render([row], [])
    # the demo row carries the zoo's regenerate markers around its scores
    assert '<!--zoo:stft_demo_ucf_surrogate:val_row-->40.00' in page
    page = re.sub(r'<!--/?zoo[^>]*-->', '', page)
    assert '| stft_demo | `configs/stft_demo.py` | 40.00 | 20.00 | 26.67 |' \
        in page
    assert '| 250 | 123 |' in page
    assert 'python tools/analysis_tools/run_ablations.py' in page


def test_collect_without_results_fails(tool, tmp_path):
    with pytest.raises(SystemExit, match='no scores'):
        tool.collect('stft_demo', 'configs/stft_demo.py', str(tmp_path))


def test_unknown_name_is_rejected(tool):
    with pytest.raises(SystemExit, match='unknown names'):
        tool.main(['--only', 'no_such_run', '--collect-only'])


def test_measure_speed(tool):
    configs = ['configs/baselines/avca_demo.py']
    speed = tool.measure_speed(configs, batch=4, iters=1, rounds=1)
    assert set(speed) == set(configs) and speed[configs[0]] > 0


def test_seed_sweep_page(tool, tmp_path):
    """--seeds --collect-only reads <name>_seed<S> work dirs and writes
    mean +- sample std per run (hand-computed: HM 26.67 and 30.67 ->
    28.67 +- 2.83)."""
    for seed, hm in ((1, 26.67), (2, 30.67)):
        work = tmp_path / f'stft_demo_seed{seed}'
        work.mkdir()
        calib = dict(S=40.0, U=20.0, HM=hm, ZSL=21.0, beta=0.4, epoch=3)
        torch.save(dict(meta=dict(calibration=calib), state_dict={}),
                   str(work / 'best_gzsl_HM_epoch_3.pth'))
    out = tmp_path / 'seeds.md'
    tool.main(['--only', 'stft_demo', '--seeds', '1', '2', '--collect-only',
               '--work-root', str(tmp_path), '--out', str(out)])
    page = out.read_text()
    assert ('| stft_demo | `configs/stft_demo.py` | 2 | 40.00 ± 0.00 | '
            '20.00 ± 0.00 | 28.67 ± 2.83 | 21.00 ± 0.00 |') in page
    assert '--only stft_demo --seeds 1 2' in page
