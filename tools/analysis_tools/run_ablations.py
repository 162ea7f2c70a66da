"""Train the STFT demo, its ablations and the baselines on the bundled data
with one schedule and seed, and write the comparison table.

    python tools/analysis_tools/run_ablations.py [--only NAME ...]
        [--work-root work_dirs/ablations] [--out docs/ablations.md]
        [--collect-only] [--cfg-options k=v ...]

Every run is ``python tools/train.py CONFIG --work-dir
<work-root>/<name>`` in a subprocess (the configs share the schedule and
seed of ``configs/stft_demo.py``; ``tests/test_configs.py`` checks that).
For each run the script collects

* the best validation S / U / HM / ZSL (percent) and its epoch and beta,
  from ``meta['calibration']`` of the run's checkpoints (written by
  ``CalibrationHook``), else from the table ``tools/train.py`` prints;
* the number of parameters (the model built from the config);
* training clips/s (forward + backward + Adam step) of the model on random
  inputs of the surrogate's shapes (batch 64, 8 audio / 12 video steps),
  measured after all runs in one process with the helpers of
  ``tools/analysis_tools/benchmark.py``: ``--speed-rounds`` rounds that
  visit every model in turn, the best round per model (robust to other
  jobs on a shared CPU);
* the wall time of the whole run (training + validation).

and writes a markdown table to ``--out``. ``--collect-only`` skips training
and rebuilds the table from existing work dirs.

Raises ``SystemExit`` with a message when a run fails or leaves no scores.
"""
import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
from stftbox.fileio.atomic_io import atomic_write_text  # noqa: E402

#: (name, config, what it changes), in table order
RUNS = [
    ('stft_demo', 'configs/stft_demo.py',
     'STFT: dynamic-threshold LIF + GLP + TSF, Tucker fusion (2 scales)'),
    ('no_glp', 'configs/ablations/stft_demo_no_glp.py',
     'STFT without global-local pooling'),
    ('no_tsf', 'configs/ablations/stft_demo_no_tsf.py',
     'STFT without time-step factor (mean over steps)'),
    ('fixed_threshold', 'configs/ablations/stft_demo_fixed_threshold.py',
     'STFT with plain LIF (fixed threshold)'),
    ('concat_fusion', 'configs/ablations/stft_demo_concat_fusion.py',
     'STFT with concat fusion instead of Tucker'),
    ('bilinear_fusion', 'configs/ablations/stft_demo_bilinear_fusion.py',
     'STFT with full bilinear fusion instead of Tucker'),
    ('conv_k1', 'configs/ablations/stft_demo_conv_k1.py',
     'STFT with the pointwise Conv1d (kernel 1) instead of kernel 3'),
    ('per_step_dropout', 'configs/ablations/stft_demo_per_step_dropout.py',
     'STFT with a new dropout mask at every time step'),
    ('glp_convex', 'configs/ablations/stft_demo_glp_convex.py',
     'STFT with the convex GLP mix instead of the paper form'),
    ('input_entropy', 'configs/ablations/stft_demo_input_entropy.py',
     'STFT with the threshold driven by the entropy of the step input'),
    ('glp_across_modalities',
     'configs/ablations/stft_demo_glp_across_modalities.py',
     'STFT with pooling/conv windows across the audio/video boundary'),
    ('fused_projection', 'configs/ablations/stft_demo_fused_projection.py',
     'STFT with the projection loss on the fused embedding only'),
    ('wide', 'configs/ablations/stft_demo_wide.py',
     'STFT with the previous (wider) transformer/fusion/head widths'),
    ('tcaf_demo', 'configs/baselines/tcaf_demo.py',
     'TCaF (the released architecture, verified against the peer; small '
     'widths): class token + cross-attention transformer, CE + regression '
     '+ reconstruction'),
    ('avca_demo', 'configs/baselines/avca_demo.py',
     'AVCA (the released architecture, verified against the peer; small '
     'widths): averaged features, 2-token attention, triplet losses, '
     'video-only evaluation'),
    ('spiking_avca_demo', 'configs/baselines/spiking_avca_demo.py',
     'SpikingAVCA: the exact AVCA + an IF-neuron SNN branch (not AVMST)'),
    ('avgzsl_baseline_demo', 'configs/avgzsl_baseline_demo.py',
     'temporal mean + MLP'),
]

SCORE_KEYS = ('S', 'U', 'HM', 'ZSL')
_TABLE_RE = re.compile(
    r'Best validation \(epoch (\d+), beta ([-\d.]+)\)\s*\n[^\n]*\n'
    r'\s*([-\d.]+)\s*\|\s*([-\d.]+)\s*\|\s*([-\d.]+)\s*\|\s*([-\d.]+)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', nargs='+', metavar='NAME',
                        help='run only these names: ' +
                        ', '.join(n for n, _, _ in RUNS))
    parser.add_argument('--work-root', default='work_dirs/ablations',
                        help='one protocol work dir per config under it '
                        '(default work_dirs/ablations)')
    parser.add_argument('--out', default='docs/ablations.md',
                        help='markdown page to write (default '
                        'docs/ablations.md)')
    parser.add_argument('--collect-only', action='store_true',
                        help='do not train; read existing work dirs')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to every tools/train.py run')
    parser.add_argument('--speed-rounds', type=int, default=3,
                        help='rounds of the speed measurement; 0 skips it')
    parser.add_argument('--speed-iters', type=int, default=3,
                        help='training steps per speed measurement')
    parser.add_argument('--seeds', nargs='+', type=int, metavar='SEED',
                        help='train every selected run once per seed '
                        '(randomness.seed; work dirs <name>_seed<SEED>) and '
                        'write mean +- std over the seeds (default page '
                        'docs/ablations_seeds.md)')
    args = parser.parse_args(argv)
    if args.seeds and args.out == 'docs/ablations.md':
        args.out = 'docs/ablations_seeds.md'
    return args


def scores_from_checkpoints(work_dir: str) -> Optional[Dict[str, float]]:
    """``meta['calibration']`` of the newest checkpoint in ``work_dir``
    (``dict(S, U, HM, ZSL, beta, epoch)``) or None when there is none."""
    from stftbox.fileio import safe_torch_load
    ckpts = sorted(glob.glob(osp.join(work_dir, '*.pth')),
                   key=osp.getmtime, reverse=True)
    for path in ckpts:
        meta = safe_torch_load(path).get('meta') or {}
        if meta.get('calibration'):
            return dict(meta['calibration'])
    return None


def scores_from_stdout(text: str) -> Optional[Dict[str, float]]:
    """Parse the final table of ``tools/train.py`` (``print_scores``)."""
    found = _TABLE_RE.findall(text)
    if not found:
        return None
    epoch, beta, *vals = found[-1]
    out = {k: float(v) for k, v in zip(SCORE_KEYS, vals)}
    out.update(epoch=int(epoch), beta=float(beta))
    return out


def _benchmark_module():
    """``tools/analysis_tools/benchmark.py`` loaded as a module."""
    import importlib.util
    path = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('stftbox_benchmark', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def measure_speed(configs: List[str], batch: int = 64, audio_steps: int = 8,
                  video_steps: int = 12, iters: int = 3,
                  rounds: int = 3) -> Dict[str, float]:
    """Training clips/s of each config's model on random inputs.

    Every model gets a random batch ``audio [batch, audio_steps, D_a]``,
    ``video [batch, video_steps, D_v]`` (widths from its config), 100 random
    class embeddings and an Adam optimiser; one measurement is
    ``batch * iters / seconds`` of ``iters`` training steps after one
    warm-up step. ``rounds`` rounds visit the models in turn and the best
    round counts, so a burst of load from other processes hurts one round
    only.

    Returns:
        dict: config -> clips per second (higher is faster).
    """
    import torch
    from mmengine.config import Config

    from stftbox.apis import register_all_modules
    from stftbox.registry import MODELS
    bench = _benchmark_module()
    register_all_modules()
    torch.manual_seed(0)
    steps = {}
    for config in configs:
        cfg = Config.fromfile(osp.join(REPO, config))
        model = MODELS.build(cfg.model).train()
        text = bench.find_width(cfg.model, 'text_channels')
        model.set_class_embeddings(torch.randn(100, text),
                                   train_class_ids=range(100))
        inputs = bench.random_batch(cfg, batch, audio_steps, video_steps,
                                    'cpu')
        labels = dict(labels=torch.randint(100, (batch, )))
        optim = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step(model=model, inputs=inputs, labels=labels, optim=optim):
            losses = model(inputs, labels, mode='loss')
            optim.zero_grad()
            sum(losses.values()).backward()
            optim.step()

        steps[config] = step
    best = {config: 0.0 for config in configs}
    for _ in range(rounds):
        for config, step in steps.items():
            best[config] = max(best[config],
                               bench.clips_per_second(step, batch, iters))
    return best


def model_summary(config: str):
    """Number of parameters of a config's model."""
    from mmengine.config import Config

    from stftbox.apis import register_all_modules
    from stftbox.registry import MODELS
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    model = MODELS.build(cfg.model)
    return sum(p.numel() for p in model.parameters())


def train(config: str, work_dir: str, cfg_options: List[str]) -> float:
    """Run ``tools/train.py``; stdout goes to ``<work_dir>/train_stdout.txt``
    and to our stdout. Returns the wall time in seconds.

    Raises:
        SystemExit: if the training process fails.
    """
    os.makedirs(work_dir, exist_ok=True)
    # --force: a rerun replaces the earlier run's checkpoints (not mixed)
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
           '--force']
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print('$', ' '.join(cmd), flush=True)
    start = time.time()
    with open(osp.join(work_dir, 'train_stdout.txt'), 'w') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            if 'Best validation' in line or 'Epoch(val)' in line and \
                    'gzsl/HM' in line:
                print('  ', line.rstrip(), flush=True)
        proc.wait()
    wall = time.time() - start
    if proc.returncode:
        raise SystemExit(f'{config} failed (exit {proc.returncode}); see '
                         f'{work_dir}/train_stdout.txt')
    with open(osp.join(work_dir, 'wall_time.txt'), 'w') as f:
        f.write(f'{wall:.1f}\n')
    return wall


def collect(name: str, config: str, work_dir: str) -> dict:
    """Scores, parameters, speed and wall time of one finished run.

    Raises:
        SystemExit: if the run left no scores.
    """
    scores = scores_from_checkpoints(work_dir)
    if scores is None:
        stdout = osp.join(work_dir, 'train_stdout.txt')
        if osp.exists(stdout):
            with open(stdout) as f:
                scores = scores_from_stdout(f.read())
    if scores is None:
        raise SystemExit(f'{name}: no scores in {work_dir} (train it first)')
    params = model_summary(config)
    wall = None
    if osp.exists(osp.join(work_dir, 'wall_time.txt')):
        with open(osp.join(work_dir, 'wall_time.txt')) as f:
            wall = float(f.read())
    return dict(name=name, config=config, scores=scores, params=params,
                clips_per_s=None, wall_s=wall)


def render(rows: List[dict], cfg_options: List[str]) -> str:
    """The markdown page (``docs/ablations.md``)."""
    import torch
    from mmengine.config import Config
    desc = {n: d for n, _, d in RUNS}
    ref = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    sched = (f'{ref.train_cfg.max_epochs} epochs x '
             f'{ref.train_dataloader.sampler.num_batches} class-balanced '
             f'batches of {ref.train_dataloader.batch_size}, Adam lr '
             f'{ref.optim_wrapper.optimizer.lr:g}, seed '
             f'{ref.randomness.seed}')
    opts = (' --cfg-options ' + ' '.join(cfg_options)) if cfg_options else ''
    lines = [
        '# Ablations and baselines on the bundled surrogate data',
        '',
        'All runs: the surrogate of UCF-GZSL (synthetic features, real class',
        'splits and class-name embeddings; `configs/_base_/datasets/'
        'ucf_gzsl_surrogate.py`),',
        'the schedule and seed of `configs/stft_demo.py`',
        f'({sched}), stage-1',
        'validation with the calibration sweep; scores are those of the',
        'epoch with the best validation HM (percent). **The surrogate says',
        'nothing about the published benchmark**: the numbers only compare',
        'the variants with each other, and with one seed each a difference',
        'of a few points can be noise.',
        'On this synthetic data the plain temporal-mean baseline beats STFT:',
        'its features are a fixed map of the class embedding plus temporal',
        'variation and noise, which averaging over time suits best; it is',
        'no evidence about STFT on real audio-visual features.',
        'The SNN defaults chosen for speed (pointwise kernel, one dropout',
        'mask for all steps) are compared over 5 seeds in',
        'docs/ablations_seeds.md.',
        '',
        'Rerun (about 10 min on 2 idle CPU cores, longer on a shared',
        'machine; `--collect-only` rebuilds this page from the work dirs):',
        '',
        '```shell',
        f'python tools/analysis_tools/run_ablations.py{opts}',
        '```',
        '',
        '| run | config | S | U | HM | ZSL | best epoch | beta | params |'
        ' train clips/s | wall s |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        s = r['scores']
        cps = f"{r['clips_per_s']:.0f}" if r['clips_per_s'] else '-'
        wall = f"{r['wall_s']:.0f}" if r['wall_s'] else '-'
        cells = (' | '.join(f'{s[k]:.2f}' for k in SCORE_KEYS)
                 + f" | {int(s['epoch'])} | {s['beta']:.2f}")
        if r['name'] == 'stft_demo' and not cfg_options:
            # the zoo's demo entry records the same run (protocol stage
            # 1); `tools/model_zoo.py regenerate` keeps this cell current
            cells = ('<!--zoo:stft_demo_ucf_surrogate:val_row-->' + cells +
                     '<!--/zoo-->')
        lines.append(
            f"| {r['name']} | `{r['config']}` | {cells} | {r['params']:,} | "
            f'{cps} | {wall} |')
    lines += ['', 'What each run changes:', '']
    lines += [f"* `{r['name']}`: {desc.get(r['name'], '')}" for r in rows]
    lines += [
        '',
        '`train clips/s`: training steps (forward + backward + Adam) on',
        'random inputs of the surrogate\'s shapes (batch 64, 8 audio / 12',
        'video steps), best of several interleaved rounds, on a CPU shared',
        f'with other jobs (torch {torch.__version__}, '
        f'{torch.get_num_threads()} threads); treat it as a rough ranking.',
        '`best epoch` counts trained epochs (1-based). `wall s` is the whole',
        'run including validation after every epoch, on the same shared',
        'machine (so it also varies with the load).',
        '',
    ]
    return '\n'.join(lines)


def render_seeds(rows: List[dict], seeds: List[int],
                 cfg_options: List[str], names: List[str]) -> str:
    """The markdown page of a seed sweep: per run, mean and sample
    standard deviation of S / U / HM / ZSL over ``seeds``."""
    import statistics
    desc = {n: d for n, _, d in RUNS}
    opts = (' --cfg-options ' + ' '.join(cfg_options)) if cfg_options else ''
    lines = [
        '# Seed sweep of ablations on the bundled surrogate data',
        '',
        'As docs/ablations.md (same data and schedule), but every run is',
        f'trained once per seed ({", ".join(map(str, seeds))}; '
        '`randomness.seed`), and the table gives mean ± sample standard',
        'deviation of the best-validation-epoch scores (percent) over the',
        'seeds. A difference smaller than the standard deviations is noise.',
        '',
        '```shell',
        'python tools/analysis_tools/run_ablations.py --only '
        + ' '.join(names) + ' --seeds ' + ' '.join(map(str, seeds)) + opts,
        '```',
        '',
        '| run | config | seeds | S | U | HM | ZSL | params |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for name in names:
        mine = [r for r in rows if r['name'] == name]
        cells = []
        for key in SCORE_KEYS:
            vals = [r['scores'][key] for r in mine]
            std = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cells.append(f'{statistics.mean(vals):.2f} ± {std:.2f}')
        lines.append(f"| {name} | `{mine[0]['config']}` | {len(mine)} | "
                     + ' | '.join(cells) + f" | {mine[0]['params']:,} |")
    lines += ['', 'What each run changes:', '']
    lines += [f'* `{n}`: {desc.get(n, "")}' for n in names]
    lines += ['']
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    runs = RUNS
    if args.only:
        known = {n for n, _, _ in RUNS}
        unknown = set(args.only) - known
        if unknown:
            raise SystemExit(f'unknown names {sorted(unknown)}; known: '
                             f'{sorted(known)}')
        runs = [r for r in RUNS if r[0] in args.only]
    rows = []
    if args.seeds:
        for name, config, _ in runs:
            for seed in args.seeds:
                work_dir = osp.join(REPO, args.work_root,
                                    f'{name}_seed{seed}')
                if not args.collect_only:
                    train(config, work_dir, args.cfg_options
                          + [f'randomness.seed={seed}'])
                rows.append(collect(name, config, work_dir))
                s = rows[-1]['scores']
                print(f'{name} seed {seed}: ' + ', '.join(
                    f'{k} {s[k]:.2f}' for k in SCORE_KEYS), flush=True)
        out = osp.join(REPO, args.out)
        os.makedirs(osp.dirname(out), exist_ok=True)
        atomic_write_text(out, render_seeds(rows, args.seeds,
                                            args.cfg_options,
                                            [n for n, _, _ in runs]))
        print(f'wrote {args.out}')
        return
    for name, config, _ in runs:
        work_dir = osp.join(args.work_root, name)
        if not args.collect_only:
            train(config, osp.join(REPO, work_dir), args.cfg_options)
        rows.append(collect(name, config, osp.join(REPO, work_dir)))
        s = rows[-1]['scores']
        print(f'{name}: ' + ', '.join(f'{k} {s[k]:.2f}' for k in SCORE_KEYS),
              flush=True)
    if args.speed_rounds > 0:
        print('measuring training speed ...', flush=True)
        speed = measure_speed([r['config'] for r in rows],
                              iters=args.speed_iters,
                              rounds=args.speed_rounds)
        for row in rows:
            row['clips_per_s'] = speed[row['config']]
    out = osp.join(REPO, args.out)
    os.makedirs(osp.dirname(out), exist_ok=True)
    atomic_write_text(out, render(rows, args.cfg_options))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
