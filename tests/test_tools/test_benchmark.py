"""tools/analysis_tools/benchmark.py without timing claims: what it counts,
aggregates and writes."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('stftbox_benchmark',
                                                  SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_op_counts_of_a_spiking_and_a_float_layer(bench):
    """Float input: in x out MACs per position; binary input: SOPs =
    non-zero inputs x fan-out, and its dense MACs are not counted."""
    class Binary(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 5))

        def forward(self, x):
            return self.net[1]((self.net[0](x) > 0).float())

    model = Binary()
    net = model.net
    x = torch.randn(2, 6, 4)
    spikes = int((net[0](x) > 0).sum())
    sops, macs = bench.count_ops(model, lambda: model(x))
    assert macs == 2 * 6 * 4 * 3          # the float layer only
    assert sops == spikes * 5


def test_seq_lens_from_the_config_or_the_cli(bench):
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_ucf.py'))
    assert bench.seq_lens_of(cfg, 'x', None, None) == dict(audio=10,
                                                           video=16)
    assert bench.seq_lens_of(cfg, 'x', 7, None) == dict(audio=7, video=16)
    main = Config.fromfile(osp.join(REPO, 'configs/stft_vggsound_main.py'))
    assert bench.seq_lens_of(main, 'x', None, None) == dict(audio=10,
                                                            video=10)
    with pytest.raises(ValueError, match='m.py: no benchmark_seq_lens'):
        bench.seq_lens_of(Config(dict(model=dict())), 'm.py', None, None)


def test_aggregate_and_table(bench):
    runs = [dict(params=10, train_clips_per_s=s, infer_clips_per_s=2 * s,
                 peak_rss_mb=m, energy_uj_per_clip=4.0, sops_per_clip=0.0,
                 macs_per_clip=1e6, firing_rates={'n': 0.25})
            for s, m in ((3.0, 100), (1.0, 300), (2.0, 200))]
    agg = bench.aggregate(runs)
    assert agg['train_clips_per_s'] == 2.0 and agg['infer_clips_per_s'] \
        == 4.0 and agg['peak_rss_mb'] == 300 and len(agg['rounds']) == 3
    ref = dict(agg, params=20, train_clips_per_s=4.0, firing_rates={})
    table = bench.format_table({'a.py': agg, 'b.py': ref}, 'b.py')
    row = [line for line in table.splitlines()
           if line.startswith('train clips/s')][0]
    assert row.split()[-1] == '0.500'
    assert 'a.py / b.py' in table
    assert [line.split()[-1] for line in table.splitlines()
            if line.startswith('parameters')] == ['0.500']


def test_measure_and_breakdown_of_the_demo(bench):
    res = bench.measure(osp.join(REPO, 'configs/stft_demo.py'), batch=2,
                        iters=1)
    _, model = bench.build(osp.join(REPO, 'configs/stft_demo.py'))
    n = sum(p.numel() for p in model.parameters())
    assert res['params'] == n
    assert res['seq_lens'] == dict(audio=6, video=9)
    assert res['train_clips_per_s'] > 0 and res['infer_clips_per_s'] > 0
    assert res['macs_per_clip'] > 0 and res['sops_per_clip'] > 0
    assert res['energy_uj_per_clip'] == pytest.approx(
        (res['sops_per_clip'] * 0.9 + res['macs_per_clip'] * 4.6) / 1e6)
    assert len(res['firing_rates']) == 2
    # as executed the spiking layers are dense products: more MACs than
    # the energy count's float MACs; a training step (forward + backward)
    # (with the training losses) 2-6x the inference FLOPs
    assert res['dense_macs_per_clip'] > res['macs_per_clip']
    assert 2.0 < res['train_flops_per_clip'] / (
        2 * res['dense_macs_per_clip']) < 6.0
    assert res['backend'] == 'auto'
    agg = bench.aggregate([res])
    assert agg['train_gflop_per_s'] == pytest.approx(
        res['train_flops_per_clip'] * res['train_clips_per_s'] / 1e9)
    assert agg['infer_gflop_per_s'] == pytest.approx(
        2 * res['dense_macs_per_clip'] * res['infer_clips_per_s'] / 1e9)
    rows = dict(bench.parameter_breakdown(model, depth=1))
    assert rows['(total)'] == n == rows['backbone'] + rows['head']


def test_cli_rejects_a_missing_config():
    proc = subprocess.run([sys.executable, SCRIPT, 'nope.py'],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert 'config file not found: nope.py' in proc.stderr


def test_cli_writes_the_results_of_each_config(tmp_path):
    """One round in a worker subprocess; the JSON holds the fields the
    issue asks for."""
    out = tmp_path / 'r.json'
    proc = subprocess.run(
        [sys.executable, SCRIPT, 'configs/stft_demo.py', '--rounds', '1',
         '--iters', '1', '--batch-size', '2', '--threads', '1', '--out',
         str(out)], capture_output=True, text=True, cwd=REPO,
        env=dict(__import__('os').environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res['reference'] == 'configs/stft_demo.py'
    got = res['configs']['configs/stft_demo.py']
    for key in ('params', 'train_clips_per_s', 'infer_clips_per_s',
                'peak_rss_mb', 'energy_uj_per_clip', 'dense_macs_per_clip',
                'train_gflop_per_s', 'infer_gflop_per_s'):
        assert got[key] > 0, key
    assert res['peak_gflop_per_s'] > 0 and len(res['peak_rounds']) == 1
    assert got['train_peak_fraction'] == pytest.approx(
        got['train_gflop_per_s'] / res['peak_gflop_per_s'])
    assert 'energy / clip (uJ)' in proc.stdout
    assert 'train GFLOP/s' in proc.stdout


def test_pointwise_spiking_blocks_count_as_sops(bench):
    """The SNN blocks' pointwise Conv1d (channels-last F.linear) is still
    seen by the counter: block 1's binary input gives SOPs = spikes x
    out_channels, and its dense MACs are not counted."""
    cfg, model = bench.build(osp.join(REPO, 'configs/stft_demo.py'))
    model.eval()
    text = bench.find_width(cfg.model, 'text_channels')
    model.set_class_embeddings(torch.randn(5, text), train_class_ids=range(5))
    inputs = bench.random_batch(cfg, 3, 6, 9, 'cpu')
    proj = model.backbone.snn_branch.blocks[1].proj
    seen = []
    hook = proj.register_forward_hook(lambda m, a, o: seen.append(a[0]))
    sops, macs = bench.count_ops(
        model, lambda: model(inputs, dict(labels=torch.zeros(3).long()),
                             mode='predict'))
    hook.remove()
    # the audio and the video sequence, kernel 3: fan-out 3 x out
    assert len(seen) == 2
    for spikes in seen:
        assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    # a spike at token j feeds the output positions j - 1, j, j + 1 that
    # exist (zero padding at the ends), each with out_channels outputs
    expect = 0
    for s in seen:
        length = s.shape[-2]
        taps = torch.tensor([min(j + 1, length - 1) - max(j - 1, 0) + 1
                             for j in range(length)])
        expect += int((s.count_nonzero(-1) * taps).sum())
    assert sops == expect * proj.out_channels > 0


def test_set_backend_reaches_every_op(bench):
    _, model = bench.build(osp.join(REPO, 'configs/stft_demo.py'))
    n = bench.set_backend(model, 'torch')
    kinds = {type(m).__name__ for m in model.modules()
             if getattr(m, 'backend', None) == 'torch'}
    assert {'DynamicThresholdLIF', 'GlobalLocalPooling', 'TokenConv1d',
            'STFTBackbone', 'SNNBranch'} <= kinds
    assert n == len([m for m in model.modules()
                     if getattr(m, 'backend', None) == 'torch'])


def test_clips_per_second_is_batch_over_median_step_after_warmup(
        bench, monkeypatch):
    """Warm-up calls are not timed; one slow timed step does not move the
    median (a fake clock: the k-th call takes ``durations[k]`` s)."""
    durations = [9.0, 7.0, 0.5, 0.5, 0.5, 5.0, 0.4]
    clock = {'now': 0.0, 'calls': 0}

    def fn():
        clock['now'] += durations[clock['calls']]
        clock['calls'] += 1

    monkeypatch.setattr(bench.time, 'perf_counter', lambda: clock['now'])
    rate = bench.clips_per_second(fn, batch=64, iters=5, warmup=2)
    assert clock['calls'] == 7
    assert rate == pytest.approx(64 / 0.5)
