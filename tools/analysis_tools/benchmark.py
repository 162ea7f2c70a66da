"""Side-by-side speed, memory and energy figures of model configs.

    python tools/analysis_tools/benchmark.py A.py [B.py ...] [--out r.json]
        [--reference B.py] [--rounds 5] [--warmup 3] [--iters 5]
        [--batch-size 64] [--threads 2] [--audio-steps La]
        [--video-steps Lv] [--classes 100]
        [--device cpu] [--backend auto|torch|fused] [--breakdown [--depth 2]]
        [--tune-malloc] [--cfg-options ...]
    python tools/analysis_tools/benchmark.py --neuron [--rounds 5]

Each config is measured in its own subprocess (so its peak resident memory
is its own), ``--rounds`` times, the configs taking turns (round 1 A, B;
round 2 B, A; ...); in each run a speed is ``batch / median step time``
of ``--iters`` steps after ``--warmup`` untimed ones (the steady state: the
first steps of a process allocate the optimizer state and grow the heap);
speeds are medians over the rounds, memory the maximum. The table gives,
per config and as a ratio to the reference config (``--reference``,
default the last one): parameters, training
clips/s (forward + backward + Adam step), inference clips/s, peak resident
memory (MB = 2^20 bytes, the whole process), firing rate per spiking layer,
SOPs, MACs and the energy estimate per clip (docs/method.md, "Energy
figures"): ``SOPs x 0.9 pJ + MACs x 4.6 pJ`` (45 nm CMOS).

Against the machine: ``dense_macs_per_clip`` are the multiply-adds of every
matrix product of one inference pass *as executed* (spiking layers run as
dense products on CPUs and GPUs, so they count in full here);
``train_gflop_per_s`` / ``infer_gflop_per_s`` are the achieved rates
(FLOPs of one training step, forward + backward, resp. of one inference
pass, counted by ``torch.utils.flop_counter``, times clips/s), and
``peak_gflop_per_s`` is the float32 matrix-product rate of this machine
measured in the same run (a 2048 x 2048 ``torch.mm`` in a worker of its
own each round, the same threads; median over the rounds), so every speed
is also a fraction of the physical limit. ``--backend torch`` runs every
op of the model on its plain-torch reference (every module with a
``backend`` attribute), ``fused`` / ``auto`` (default) on the kernels.

Counting (energy; spikingjelly 2's ``op_counter``: ``SynOpCounter`` and
``MACCounter``, one inference forward pass): a matrix product or
convolution one of whose operands holds only 0 and 1 is spike-driven and
costs SOPs (weights used by spikes: non-zero inputs x fan-out for a linear
layer); every other one, and the fused attention, costs dense MACs.
Element-wise work (norms, neurons, activations) is not counted; see
:func:`stftbox.models.utils.count_synops_macs`. Firing rates come from
spikingjelly's ``monitor.OutputMonitor``
(:class:`stftbox.models.utils.FiringRateMonitor`).

Inputs are random tensors of the config's widths and, by default, of its
dataset's real sequence lengths: ``benchmark_seq_lens = dict(audio=La,
video=Lv)`` in the dataset config (configs/_base_/datasets/*.py), or
``--audio-steps`` / ``--video-steps``. No data is needed.

``--breakdown`` prints the trainable parameters per submodule (``--depth``
levels). ``--neuron`` times forward + backward of the registered
``DynamicThresholdLIF`` (its config defaults) against spikingjelly's
``neuron.LIFNode(step_mode='m')`` on a ``[10, 16, 120, 512]`` input,
interleaved, median over ``--rounds``.

``--out`` writes JSON: ``{"configs": {path: {params, train_clips_per_s,
infer_clips_per_s, peak_rss_mb, energy_uj_per_clip, sops_per_clip,
macs_per_clip, dense_macs_per_clip, train_flops_per_clip,
train_gflop_per_s, infer_gflop_per_s, firing_rates, seq_lens, batch_size,
threads, backend, rounds: [...]}}, "reference": path, "peak_gflop_per_s":
x, "peak_rounds": [...]}`` (plus ``"neuron"`` with ``--neuron``).
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

PJ_PER_SOP, PJ_PER_MAC = 0.9, 4.6
NEURON_SHAPE = (10, 16, 120, 512)


def find_width(cfg, key):
    """First value of ``key`` found anywhere in a (nested) model config."""
    if isinstance(cfg, dict):
        if key in cfg:
            return cfg[key]
        cfg = list(cfg.values())
    if isinstance(cfg, (list, tuple)):
        for v in cfg:
            w = find_width(v, key)
            if w is not None:
                return w
    return None


def seq_lens_of(cfg, path: str, audio: Optional[int],
                video: Optional[int]) -> Dict[str, int]:
    """Benchmark sequence lengths: the CLI values, else the config's
    ``benchmark_seq_lens``.

    Raises:
        ValueError: neither is given, naming the config and the key.
    """
    lens = dict(cfg.get('benchmark_seq_lens', None) or {})
    if audio:
        lens['audio'] = audio
    if video:
        lens['video'] = video
    if not {'audio', 'video'} <= set(lens):
        raise ValueError(f'{path}: no benchmark_seq_lens = dict(audio=..., '
                         'video=...) in the config (see configs/_base_/'
                         'datasets/*.py); pass --audio-steps and '
                         '--video-steps')
    return dict(audio=int(lens['audio']), video=int(lens['video']))


def random_batch(cfg, batch: int, la: int, lv: int, device) -> dict:
    """Random ``inputs`` of the config's audio / video widths, no padding."""
    a = find_width(cfg.model, 'audio_channels')
    v = find_width(cfg.model, 'video_channels')
    return dict(audio=torch.randn(batch, la, a, device=device),
                video=torch.randn(batch, lv, v, device=device),
                audio_padding_mask=torch.zeros(batch, la, dtype=torch.bool,
                                               device=device),
                video_padding_mask=torch.zeros(batch, lv, dtype=torch.bool,
                                               device=device))


def clips_per_second(fn, batch: int, iters: int, warmup: int = 3) -> float:
    """``batch / t`` with ``t`` the median time of ``iters`` calls after
    ``warmup`` untimed ones.

    The first training steps of a process are not its steady state: the
    first allocates the optimizer state and every step until the heap has
    grown to the step's peak page-faults fresh memory (paper-width STFT,
    batch 64: steps 1-3 take 2.6 / 1.2 / 0.95 s, then ~0.9 s). The median
    ignores a step slowed by the host (e.g. memory reclaimed in between).
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def count_ops(model: nn.Module, step) -> tuple:
    """``(sops, macs)`` of one call of ``step``, counted by spikingjelly's
    ``SynOpCounter`` / ``MACCounter`` (see module docstring and
    :func:`stftbox.models.utils.count_synops_macs`)."""
    from stftbox.models.utils import count_synops_macs
    return count_synops_macs(model, step)


def step_flops(step) -> int:
    """FLOPs (2 per multiply-add) of the matrix products of one call of
    ``step`` as executed (forward and, if ``step`` runs one, backward)."""
    from torch.utils.flop_counter import FlopCounterMode
    flops = FlopCounterMode(display=False)
    with flops:
        step()
    return int(flops.get_total_flops())


def matmul_peak_gflop_per_s(size: int = 2048, iters: int = 10,
                            device: str = 'cpu') -> float:
    """Float32 ``torch.mm`` rate of this machine: ``2 size^3 / t`` with
    ``t`` the median of ``iters`` products after 2 warm-up ones, GFLOP/s."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    sync = (torch.cuda.synchronize if torch.device(device).type == 'cuda'
            else (lambda: None))
    times = []
    for i in range(iters + 2):
        sync()
        start = time.perf_counter()
        torch.mm(a, b)
        sync()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return 2 * size ** 3 / statistics.median(times) / 1e9


def set_backend(model: nn.Module, backend: str) -> int:
    """Set ``backend`` on every submodule that has one (neurons, poolings,
    convolutions, the backbone's reconstruction); returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(getattr(m, 'backend', None), str):
            m.backend = backend
            n += 1
    return n


def parameter_breakdown(model: nn.Module, depth: int = 2) -> List[tuple]:
    """``[(name, trainable parameters)]`` of the submodules up to ``depth``
    levels below the model (a parameter shared by two modules counts in
    both; the total counts it once)."""
    rows = [('(total)', sum(p.numel() for p in model.parameters()
                            if p.requires_grad))]
    for name, mod in model.named_modules():
        if name and name.count('.') < depth:
            n = sum(p.numel() for p in mod.parameters() if p.requires_grad)
            rows.append((name, n))
    return rows


def parse_cfg_options(tokens: Optional[Sequence[str]]) -> dict:
    """``['a.b=1', ...]`` -> dict, as mmengine's ``--cfg-options``."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={})
    return parser.parse_args(['--cfg-options', *tokens]).cfg_options \
        if tokens else {}


def build(config: str, cfg_options: Optional[Sequence[str]] = None):
    """``(cfg, model)`` of ``config`` with ``--cfg-options`` tokens."""
    from stftbox.engine import load_config
    from stftbox.apis import register_all_modules
    from stftbox.registry import MODELS
    register_all_modules()
    cfg = load_config(config, parse_cfg_options(cfg_options))
    return cfg, MODELS.build(cfg.model)


def measure(config: str, batch: int = 64, iters: int = 5,
            audio_steps: Optional[int] = None,
            video_steps: Optional[int] = None, classes: int = 100,
            device: str = 'cpu', count: bool = True,
            cfg_options: Optional[Sequence[str]] = None,
            warmup: int = 3, backend: str = 'auto') -> dict:
    """Measure one config in this process (see module docstring): speeds
    from :func:`clips_per_second` (``warmup`` untimed steps, then the median
    of ``iters``).

    Returns:
        dict: ``params``, ``train_clips_per_s``, ``infer_clips_per_s``,
        ``peak_rss_mb`` (this process so far), ``seq_lens``, and with
        ``count`` also ``sops_per_clip``, ``macs_per_clip``,
        ``energy_uj_per_clip`` (µJ) and ``firing_rates`` (layer -> rate).
    """
    from stftbox.models.utils import FiringRateMonitor
    torch.manual_seed(0)
    cfg, model = build(config, cfg_options)
    if backend != 'auto':
        set_backend(model, backend)
    device = torch.device(device)
    model = model.to(device)
    lens = seq_lens_of(cfg, config, audio_steps, video_steps)
    text = find_width(cfg.model, 'text_channels')
    model.set_class_embeddings(torch.randn(classes, text, device=device),
                               train_class_ids=range(classes))
    inputs = random_batch(cfg, batch, lens['audio'], lens['video'], device)
    labels = dict(labels=torch.randint(classes, (batch, ), device=device))
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        losses = model(inputs, labels, mode='loss')
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()

    def infer_step():
        with torch.no_grad():
            model(inputs, labels, mode='predict')

    out = dict(params=sum(p.numel() for p in model.parameters()
                          if p.requires_grad),
               seq_lens=lens, batch_size=batch, backend=backend,
               threads=torch.get_num_threads())
    model.train()
    out['train_clips_per_s'] = clips_per_second(train_step, batch, iters,
                                                warmup)
    model.eval()
    out['infer_clips_per_s'] = clips_per_second(infer_step, batch, iters,
                                                warmup)
    if count:   # with autograd on: spikingjelly's module tracker needs it
        with FiringRateMonitor(model) as rates:
            sops, macs = count_ops(
                model, lambda: model(inputs, labels, mode='predict'))
        dense = step_flops(
            lambda: model(inputs, labels, mode='predict')) // 2
        model.train()
        train_flops = step_flops(train_step)
        model.eval()
        out.update(
            dense_macs_per_clip=dense / batch,
            train_flops_per_clip=train_flops / batch,
            sops_per_clip=sops / batch, macs_per_clip=macs / batch,
            energy_uj_per_clip=(sops * PJ_PER_SOP + macs * PJ_PER_MAC)
            / batch / 1e6,
            firing_rates=rates.rates())
    out['peak_rss_mb'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _worker_command(args, config: str, out_file: str, count: bool) -> list:
    cmd = [sys.executable, osp.abspath(__file__), config, '--worker',
           out_file, '--batch-size', str(args.batch_size), '--iters',
           str(args.iters), '--warmup', str(args.warmup), '--classes',
           str(args.classes), '--device', args.device, '--threads',
           str(args.threads), '--backend', args.backend]
    if args.audio_steps:
        cmd += ['--audio-steps', str(args.audio_steps)]
    if args.video_steps:
        cmd += ['--video-steps', str(args.video_steps)]
    if not count:
        cmd.append('--no-count')
    if args.tune_malloc:
        cmd.append('--tune-malloc')
    if args.cfg_options:
        cmd += ['--cfg-options', *args.cfg_options]
    return cmd


def run_rounds(args) -> Dict[str, dict]:
    """Measure every config ``args.rounds`` times, each run in a fresh
    subprocess, alternating the order per round; aggregate per config.

    Raises:
        RuntimeError: a worker failed (its stderr tail is in the message).
    """
    runs: Dict[str, list] = {c: [] for c in args.configs}
    peaks = []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            peak_file = osp.join(tmp, f'{rnd}_peak.json')
            proc = subprocess.run(
                [sys.executable, osp.abspath(__file__), '--peak-worker',
                 peak_file, '--threads', str(args.threads), '--device',
                 args.device], env=env, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError('matmul peak measurement failed:\n'
                                   + proc.stderr[-3000:])
            with open(peak_file) as f:
                peaks.append(json.load(f)['peak_gflop_per_s'])
            order = args.configs if rnd % 2 == 0 else args.configs[::-1]
            for i, config in enumerate(order):
                out_file = osp.join(tmp, f'{rnd}_{i}.json')
                proc = subprocess.run(
                    _worker_command(args, config, out_file, rnd == 0),
                    env=env, capture_output=True, text=True)
                if proc.returncode:
                    raise RuntimeError(f'benchmark of {config} failed:\n'
                                       + proc.stderr[-3000:])
                with open(out_file) as f:
                    runs[config].append(json.load(f))
                print(f'round {rnd + 1}/{args.rounds} {config}: train '
                      f"{runs[config][-1]['train_clips_per_s']:.1f} / infer "
                      f"{runs[config][-1]['infer_clips_per_s']:.1f} clips/s"
                      f' (matmul peak {peaks[-1]:.1f} GFLOP/s)',
                      file=sys.stderr)
    results = {c: aggregate(r) for c, r in runs.items()}
    results['_peak'] = dict(peak_gflop_per_s=statistics.median(peaks),
                            peak_rounds=peaks)
    return results


def aggregate(runs: List[dict]) -> dict:
    """Medians of the speeds and the maximum peak RSS over ``runs``; the
    counts of the first run (they do not depend on the run)."""
    out = {k: v for k, v in runs[0].items()}
    for key in ('train_clips_per_s', 'infer_clips_per_s'):
        out[key] = statistics.median(r[key] for r in runs)
    out['peak_rss_mb'] = max(r['peak_rss_mb'] for r in runs)
    if 'train_flops_per_clip' in out:   # achieved rates, GFLOP/s
        out['train_gflop_per_s'] = (out['train_flops_per_clip']
                                    * out['train_clips_per_s'] / 1e9)
        out['infer_gflop_per_s'] = (2 * out['dense_macs_per_clip']
                                    * out['infer_clips_per_s'] / 1e9)
    out['rounds'] = [{k: r[k] for k in ('train_clips_per_s',
                                        'infer_clips_per_s', 'peak_rss_mb')}
                     for r in runs]
    return out


ROWS = [('params', 'parameters', '{:,.0f}'),
        ('train_clips_per_s', 'train clips/s', '{:.1f}'),
        ('infer_clips_per_s', 'inference clips/s', '{:.1f}'),
        ('peak_rss_mb', 'peak RSS (MB)', '{:.0f}'),
        ('dense_macs_per_clip', 'dense MACs / clip, as run (M)', '{:.1f}'),
        ('train_gflop_per_s', 'train GFLOP/s', '{:.2f}'),
        ('infer_gflop_per_s', 'inference GFLOP/s', '{:.2f}'),
        ('train_peak_fraction', 'train / matmul peak', '{:.3f}'),
        ('infer_peak_fraction', 'inference / matmul peak', '{:.3f}'),
        ('mean_firing_rate', 'mean firing rate', '{:.4f}'),
        ('sops_per_clip', 'SOPs / clip (M)', '{:.3f}'),
        ('macs_per_clip', 'MACs / clip (M)', '{:.3f}'),
        ('energy_uj_per_clip', 'energy / clip (uJ)', '{:.2f}')]


def format_table(results: Dict[str, dict], reference: str) -> str:
    """Side-by-side table: one column per config and one ratio column
    (config / reference) per non-reference config."""
    names = list(results)
    others = [n for n in names if n != reference]
    header = ['metric'] + [osp.basename(n) for n in names] + \
        [f'{osp.basename(n)} / {osp.basename(reference)}' for n in others]
    lines = []

    def value(res, key):
        if key == 'mean_firing_rate':
            rates = list(res.get('firing_rates', {}).values())
            return statistics.mean(rates) if rates else None
        v = res.get(key)
        if v is not None and key in ('sops_per_clip', 'macs_per_clip',
                                     'dense_macs_per_clip'):
            v = v / 1e6
        return v

    for key, label, fmt in ROWS:
        vals = [value(results[n], key) for n in names]
        row = [label] + ['-' if v is None else fmt.format(v) for v in vals]
        ref = value(results[reference], key)
        for n in others:
            v = value(results[n], key)
            row.append(f'{v / ref:.3f}' if v is not None and ref else '-')
        lines.append(row)
    widths = [max(len(str(r[i])) for r in [header] + lines)
              for i in range(len(header))]
    fmt_row = '  '.join('{:<%d}' % w for w in widths).format
    text = [fmt_row(*header), fmt_row(*['-' * w for w in widths])]
    text += [fmt_row(*r) for r in lines]
    for n in names:
        rates = results[n].get('firing_rates') or {}
        if rates:
            text.append(f'firing rates of {n}:')
            text += [f'  {layer:<50} {r:.4f}' for layer, r in rates.items()]
    return '\n'.join(text)


def format_breakdown(config: str, rows: Sequence[tuple]) -> str:
    total = rows[0][1]
    lines = [f'parameters of {config}:']
    for name, n in rows:
        indent = '  ' * (name.count('.') + (0 if name == '(total)' else 1))
        lines.append(f'{indent}{name:<{60 - len(indent)}} {n:>12,} '
                     f'{100 * n / max(total, 1):6.2f} %')
    return '\n'.join(lines)


def benchmark_neuron(rounds: int = 5, shape=NEURON_SHAPE) -> dict:
    """Forward + backward seconds of ``DynamicThresholdLIF`` (config
    defaults, with a GLP context as in a spiking block) and spikingjelly
    ``LIFNode(step_mode='m')`` on a random ``shape`` input
    (``[T, B, L, D]``); interleaved, medians
    (:func:`stftbox.ops.speed.time_neuron_pair`).

    Returns:
        dict: ``dynamic_threshold_lif_s``, ``lif_node_s`` (median wall
        seconds per forward + backward), ``ratio`` (first / second),
        ``cpu_ratio`` (the same for process CPU time, less sensitive to
        other load), ``shape``.
    """
    from stftbox.ops.speed import time_neuron_pair
    res = time_neuron_pair(shape=shape, repeats=rounds)
    return dict(dynamic_threshold_lif_s=res['DynamicThresholdLIF']['median_s'],
                lif_node_s=res['LIFNode']['median_s'], ratio=res['ratio'],
                cpu_ratio=res['cpu_ratio'], shape=list(shape))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='*', help='model config files')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--reference',
                        help='config the ratios divide by (default: last)')
    parser.add_argument('--rounds', type=int, default=5,
                        help='measurement rounds, configs alternating')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed steps per round before the timed ones '
                        '(optimizer state, heap growth)')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed steps per round (their median counts)')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='clips per step (default 64)')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch CPU threads (and OMP_NUM_THREADS)')
    parser.add_argument('--audio-steps', type=int,
                        help="default: the config's benchmark_seq_lens")
    parser.add_argument('--video-steps', type=int,
                        help="default: the config's benchmark_seq_lens")
    parser.add_argument('--classes', type=int, default=100,
                        help='number of class embeddings')
    parser.add_argument('--device', default='cpu',
                        help='torch device, e.g. cpu or cuda')
    parser.add_argument('--breakdown', action='store_true',
                        help='print the parameters per submodule')
    parser.add_argument('--depth', type=int, default=2,
                        help='submodule levels of --breakdown')
    parser.add_argument('--neuron', action='store_true',
                        help='benchmark DynamicThresholdLIF vs LIFNode')
    parser.add_argument('--cfg-options', nargs='+',
                        help='key=value overrides of every config')
    parser.add_argument('--backend', default='auto',
                        choices=['auto', 'torch', 'fused'],
                        help="ops backend of every module with one: 'torch' "
                        "= the plain references (default 'auto')")
    parser.add_argument('--peak-worker', help=argparse.SUPPRESS)
    parser.add_argument('--tune-malloc', action='store_true',
                        help='keep freed large tensors in the heap (glibc '
                        'mallopt, in each worker; also '
                        'STFTBOX_MALLOC_TUNING=1)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--no-count', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_worker:
        return args
    if not args.configs and not args.neuron:
        parser.error('give at least one config, or --neuron')
    if args.reference and args.reference not in args.configs:
        parser.error(f'--reference {args.reference} is not among the '
                     'configs')
    if args.rounds < 1 or args.iters < 1 or args.batch_size < 1:
        parser.error('--rounds, --iters and --batch-size must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    for c in args.configs:
        if not osp.isfile(c):
            parser.error(f'config file not found: {c}')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.peak_worker:   # the machine's matmul rate, in a fresh process
        with open(args.peak_worker, 'w') as f:
            json.dump(dict(peak_gflop_per_s=matmul_peak_gflop_per_s(
                device=args.device)), f)
        return
    if args.worker:   # one measurement, in this (fresh) process
        from stftbox.utils import tune_if_requested
        tune_if_requested(args.tune_malloc)
        res = measure(args.configs[0], args.batch_size, args.iters,
                      args.audio_steps, args.video_steps, args.classes,
                      args.device, count=not args.no_count,
                      cfg_options=args.cfg_options, warmup=args.warmup,
                      backend=args.backend)
        with open(args.worker, 'w') as f:
            json.dump(res, f)
        return
    output = {}
    if args.breakdown:
        for c in args.configs:
            print(format_breakdown(c, parameter_breakdown(
                build(c, args.cfg_options)[1], args.depth)))
    if args.configs:
        reference = args.reference or args.configs[-1]
        results = run_rounds(args)
        peak = results.pop('_peak')
        for res in results.values():
            for kind in ('train', 'infer'):
                if f'{kind}_gflop_per_s' in res:
                    res[f'{kind}_peak_fraction'] = (
                        res[f'{kind}_gflop_per_s']
                        / peak['peak_gflop_per_s'])
        print(f'batch {args.batch_size}, {args.threads} threads, '
              f'{args.device}, backend {args.backend}, median of '
              f'{args.rounds} rounds x {args.iters} steps (after '
              f'{args.warmup} warm-up); float32 matmul peak '
              f"{peak['peak_gflop_per_s']:.1f} GFLOP/s; "
              'seq lens (audio, video): ' + ', '.join(
                  f"{osp.basename(c)} ({r['seq_lens']['audio']}, "
                  f"{r['seq_lens']['video']})" for c, r in results.items()))
        print(format_table(results, reference))
        output.update(configs=results, reference=reference, **peak)
    if args.neuron:
        res = benchmark_neuron(args.rounds)
        print(f"neuron forward+backward on {res['shape']} (median of "
              f"{args.rounds}): DynamicThresholdLIF "
              f"{res['dynamic_threshold_lif_s']:.3f} s, LIFNode "
              f"{res['lif_node_s']:.3f} s, ratio {res['ratio']:.2f} (CPU time "
              f"{res['cpu_ratio']:.2f})")
        output['neuron'] = res
    if args.out:
        tmp = args.out + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(output, f, indent=2)
        os.replace(tmp, args.out)   # never a half-written file
        print(f'results written to {args.out}')


if __name__ == '__main__':
    main()
