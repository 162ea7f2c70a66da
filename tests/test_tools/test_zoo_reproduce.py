"""The demo entry of the model zoo is reproduced exactly, on every commit.

The entry (configs/metafile.yml) records the command, seed, threads,
workers and versions that produced it; the shipped ``.pth`` and
``.safetensors`` hold exactly the recorded weights; testing either the way
``tools/test.py`` does gives the published S, U, HM, ZSL; and rerunning the
documented protocol command (both stages, about a minute on 2 idle cores)
gives the recorded weights and every recorded number bit for bit. A change
of the model's numerics therefore fails here until
``python tools/model_zoo.py regenerate stft_demo_ucf_surrogate`` is run in
the same commit (model-zoo.md, "Reproducing the numbers"). The rerun is
skipped only in another environment (library versions, CPU architecture),
where the numbers legitimately differ.
"""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from stftbox.apis import register_all_modules
from stftbox.datasets import make_surrogate_avgzsl
from stftbox.engine import run_protocol
from stftbox.engine.run_env import environment_mismatch, run_environment
from stftbox.fileio import (get_entry, load_checkpoint_safely,
                            safe_torch_load, sha256_file, state_dict_sha256)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAME = 'stft_demo_ucf_surrogate'
METRICS = ('S', 'U', 'HM', 'ZSL')


@pytest.fixture(scope='module')
def entry():
    os.environ.pop('STFTBOX_MODEL_ZOO', None)
    return get_entry(NAME)


@pytest.fixture(scope='module')
def surrogate_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('zoo') / 'UCF')
    make_surrogate_avgzsl(root, dataset_name='UCF', seed=0)
    return root


def demo_cfg(entry, data_root):
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, entry['config']))
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader']['dataset']['data_root'] = data_root
    return cfg


def _rounded(d):
    return {k: round(float(d[k]), 2) for k in METRICS}


def test_entry_records_how_it_was_made(entry):
    r = entry['reproduce']
    cfg = Config.fromfile(osp.join(REPO, entry['config']))
    assert r['command'] == (f"python tools/run_protocol.py {entry['config']}"
                            f" --threads {r['threads']}")
    assert r['regenerate'] == f'python tools/model_zoo.py regenerate {NAME}'
    assert r['seed'] == cfg.randomness.seed
    assert r['num_workers'] == {s: cfg[f'{s}_dataloader'].num_workers
                                for s in ('train', 'val', 'test')}
    assert set(r['versions']) == {'python', 'torch', 'mmengine',
                                  'spikingjelly', 'numpy'}
    assert 'threads' in r['depends_on'] and 'num_workers' in r['depends_on']
    pth = osp.join(REPO, entry['url'])
    st = osp.join(REPO, entry['safetensors']['url'])
    assert sha256_file(pth) == entry['sha256']
    assert os.path.getsize(pth) == entry['size']
    assert sha256_file(st) == entry['safetensors']['sha256']
    assert os.path.getsize(st) == entry['safetensors']['size']
    a, b = safe_torch_load(pth), safe_torch_load(st)
    for ckpt in (a, b):
        assert state_dict_sha256(ckpt['state_dict']) == r['weights_sha256']
        proto = ckpt['meta']['protocol']
        assert _rounded(proto['test']) == {k: entry[k] for k in METRICS}
        assert _rounded(proto['stage1']) == _rounded(entry['validation'])
        assert proto['stage1']['epoch'] == entry['validation']['epoch']
        assert ckpt['meta']['calibration']['beta'] == pytest.approx(
            entry['beta'], abs=1e-4)
        assert proto['environment']['threads'] == r['threads']
    assert sum(v.numel() for v in a['state_dict'].values()) == \
        entry['Parameters']


def test_seed_spread_is_consistent(entry):
    seeds = entry.get('seeds')
    if not seeds:
        pytest.skip('no spread over seeds recorded')
    runs = seeds['runs']
    assert [r['seed'] for r in runs] == seeds['seeds']
    single = [r for r in runs if r['seed'] == entry['reproduce']['seed']]
    assert single and {k: single[0][k] for k in METRICS} == {
        k: entry[k] for k in METRICS}
    import statistics
    # the recorded mean/std come from unrounded scores, rounded to 0.01; the
    # runs are rounded to 0.01 too: at most 0.005 + 0.005 apart
    for k in METRICS:
        values = [r[k] for r in runs]
        mean, std = seeds[k]
        assert mean == pytest.approx(statistics.mean(values), abs=0.0101)
        assert std == pytest.approx(statistics.stdev(values), abs=0.0101)


@pytest.mark.parametrize('fmt', ['pth', 'safetensors'])
def test_shipped_weights_give_published_numbers(entry, surrogate_root,
                                                tmp_path, fmt):
    cfg = demo_cfg(entry, surrogate_root)
    rel = entry['url'] if fmt == 'pth' else entry['safetensors']['url']
    ckpt = osp.join(REPO, rel)
    cfg.test_evaluator.calibration = safe_torch_load(ckpt)['meta'][
        'calibration']['beta']
    cfg.work_dir = str(tmp_path / 'wd')
    runner = Runner.from_cfg(cfg)
    load_checkpoint_safely(runner.model, ckpt, strict=True)
    metrics = runner.test()
    assert {k: round(metrics[f'gzsl/{k}'], 2) for k in METRICS} == {
        k: entry[k] for k in METRICS}


def test_documented_command_reproduces_entry(entry, surrogate_root,
                                             tmp_path):
    r = entry['reproduce']
    threads = torch.get_num_threads()
    torch.set_num_threads(r['threads'])
    try:
        env = run_environment()
        differ = environment_mismatch(dict(r['versions'],
                                           threads=r['threads']), env)
        if differ or env['machine'] != r['machine']:
            pytest.skip(f'another environment: {differ or env["machine"]}')
        summary = run_protocol(demo_cfg(entry, surrogate_root),
                               str(tmp_path / 'wd'), threads=r['threads'])
    finally:
        torch.set_num_threads(threads)
    got = dict(test=_rounded(summary['test']),
               validation=dict(_rounded(summary['stage1']),
                               epoch=summary['stage1']['epoch']),
               beta=round(summary['beta'], 4),
               weights_sha256=summary['weights_sha256'])
    want = dict(test={k: entry[k] for k in METRICS},
                validation={k: entry['validation'][k]
                            for k in METRICS + ('epoch', )},
                beta=entry['beta'], weights_sha256=r['weights_sha256'])
    assert got == want, (
        'the documented protocol no longer reproduces the zoo entry; if the '
        'numerics changed on purpose, run `python tools/model_zoo.py '
        f'regenerate {NAME}` and commit what it rewrites')


def test_docs_demo_output_is_current(entry, surrogate_root):
    """The zero-shot demo output quoted in docs/inference.md is what the
    shipped checkpoint prints now (`regenerate` rewrites it)."""
    import importlib.util
    import subprocess
    import sys
    spec = importlib.util.spec_from_file_location(
        'stftbox_tool_model_zoo_repro', osp.join(REPO, 'tools',
                                                 'model_zoo.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    text = open(osp.join(REPO, 'docs', 'inference.md'),
                encoding='utf-8').read()
    blocks = tool.DOC_OUTPUT.findall(text)
    assert [(b[1], b[2]) for b in blocks] == [(NAME, 'zero_shot_demo')]
    subst = dict(DATA=surrogate_root, CONFIG=entry['config'],
                 CKPT=entry['url'])
    cmd = [sys.executable] + [a.format(**subst)
                              for a in tool.DOC_OUTPUTS['zero_shot_demo']]
    env = dict(os.environ, PYTHONPATH=REPO)
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert tool.quoted_output(res.stdout) == blocks[0][3]
    assert tool.quoted_output('12/05 19:57:59 - mmengine - INFO - x\nab\n\n'
                              ) == 'ab\n'
