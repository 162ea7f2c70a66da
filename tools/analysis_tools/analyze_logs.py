"""Training curves and timing from a run's ``vis_data/scalars.json``.

    python tools/analysis_tools/analyze_logs.py plot_curve WORK_DIR \
        [WORK_DIR ...] --keys loss gzsl/HM [--out curves.png]
    python tools/analysis_tools/analyze_logs.py cal_train_time WORK_DIR

``WORK_DIR`` is a run's work dir (its latest ``<timestamp>/`` folder that
has ``vis_data/scalars.json`` is used), a ``<timestamp>/`` folder, or the
``scalars.json`` file itself. A run resumed with ``--resume`` logs each part
into its own ``<timestamp>/`` folder; the curves of a resumed part include
the parts it continues (earlier folders of the same work dir, up to the
iteration where it resumed: :func:`load_scalars`), so they cover the whole
run. mmengine's ``LocalVisBackend`` writes one JSON
object a line: training records carry ``epoch``, ``iter`` and ``step`` (=
iteration), validation records only ``step`` (= epoch). Training keys are
plotted over iterations, validation keys (e.g. ``gzsl/HM``) over epochs; one
panel per key, one line per run.
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List

import numpy as np

from stftbox.evaluation.result_plots import new_figure, save_figure

#: inches of one panel (x DPI = pixels); a figure is ``PANEL_SIZE[0]`` wide
#: and ``PANEL_SIZE[1] * len(keys)`` high
PANEL_SIZE = (8.0, 3.0)


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of a work dir, timestamp dir or the file itself.

    Raises:
        FileNotFoundError: none found (names the folders looked in).
    """
    if osp.isfile(path):
        return path
    direct = [osp.join(path, 'vis_data', 'scalars.json'),
              osp.join(path, 'scalars.json')]
    for cand in direct:
        if osp.isfile(cand):
            return cand
    runs = []
    if osp.isdir(path):
        for name in sorted(os.listdir(path)):
            cand = osp.join(path, name, 'vis_data', 'scalars.json')
            if osp.isfile(cand):
                runs.append(cand)
    if not runs:
        raise FileNotFoundError(
            f'{path}: no vis_data/scalars.json found (looked in {path}/, '
            f'{path}/vis_data/ and {path}/<timestamp>/vis_data/); was the '
            "run made with visualizer LocalVisBackend (default_runtime.py)?")
    return runs[-1]  # timestamps sort chronologically


def load_scalars(path: str, whole_run: bool = True) -> List[dict]:
    """Records of a ``scalars.json`` (one JSON object a line); for the file
    of a resumed part (``<work_dir>/<timestamp>/vis_data/scalars.json``
    whose first training iteration is not 1) also the records of the parts
    it continues, in order (:func:`earlier_parts`).

    Args:
        path (str): the ``scalars.json``.
        whole_run (bool): False: this file's records only.

    Raises:
        ValueError: a line that is not a JSON object (names the line).
    """
    records = _read_scalars(path)
    if whole_run:
        for older in earlier_parts(path, records):
            records = older + records
    return records


def _first_train(records: List[dict]):
    train = [r for r in records if 'iter' in r]
    return (min(int(r['iter']) for r in train),
            min(int(r.get('epoch', 1)) for r in train)) if train else None


def earlier_parts(path: str, records: List[dict]) -> List[List[dict]]:
    """The records of the earlier parts of a resumed run, newest part
    first: walking back over the older ``<timestamp>/`` folders of the work
    dir, each gives its records before the point where the later part
    resumed (training iterations below its first one, validation epochs
    below its first epoch) until a part starts at iteration 1. A fresh run
    (first iteration 1) has none."""
    run_dir = osp.dirname(osp.dirname(osp.abspath(path)))
    if osp.basename(osp.dirname(osp.abspath(path))) != 'vis_data':
        return []
    work_dir = osp.dirname(run_dir)
    older = sorted(d for d in os.listdir(work_dir)
                   if d < osp.basename(run_dir) and osp.isfile(
                       osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    parts, start = [], _first_train(records)
    for name in reversed(older):
        if start is None or start[0] <= 1:
            break
        first_iter, first_epoch = start
        recs = _read_scalars(osp.join(work_dir, name, 'vis_data',
                                      'scalars.json'))
        keep = [r for r in recs
                if ('iter' in r and int(r['iter']) < first_iter) or
                ('iter' not in r and 'step' in r and
                 int(r['step']) < first_epoch)]
        if not any('iter' in r for r in keep):
            continue  # not a part of this run (e.g. a failed start)
        parts.append(keep)
        start = _first_train(keep)
    return parts


def _read_scalars(path: str) -> List[dict]:
    records = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f'{path}:{no}: not a JSON line ({exc})') \
                    from None
            if not isinstance(rec, dict):
                raise ValueError(f'{path}:{no}: expected a JSON object')
            records.append(rec)
    return records


def key_series(records: List[dict], key: str):
    """``(x, y, x_label)`` of ``key``: over iterations for training records
    (those with ``iter``), over epochs (``step``) for validation ones.
    Returns ``None`` when no record has ``key``."""
    rows = [r for r in records if key in r]
    if not rows:
        return None
    train = [r for r in rows if 'iter' in r]
    use = train if train else rows
    x_key, label = ('iter', 'iteration') if train else ('step', 'epoch')
    x = np.array([r.get(x_key, r.get('step', i)) for i, r in enumerate(use)],
                 dtype=float)
    y = np.array([r[key] for r in use], dtype=float)
    return x, y, label


def plot_curve(runs: Dict[str, List[dict]], keys: List[str], out_file: str,
               title: str = None) -> str:
    """One panel per key, one line per run.

    Args:
        runs: run label -> records (:func:`load_scalars`).
        keys: scalar names, e.g. ``['loss', 'gzsl/HM']``.
        out_file: PNG path; the image is ``PANEL_SIZE[0] * DPI`` x
            ``PANEL_SIZE[1] * len(keys) * DPI`` pixels.

    Raises:
        KeyError: a key that no run has (lists the available keys).
    """
    available = sorted({k for recs in runs.values() for r in recs
                        for k in r} - {'epoch', 'iter', 'step'})
    for key in keys:
        if not any(key_series(recs, key) for recs in runs.values()):
            raise KeyError(f'{key!r} is in no scalars.json; available '
                           f'keys: {available}')
    fig = new_figure((PANEL_SIZE[0], PANEL_SIZE[1] * len(keys)))
    axes = fig.subplots(len(keys), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys):
        for label, recs in runs.items():
            series = key_series(recs, key)
            if series is None:
                continue
            x, y, x_label = series
            ax.plot(x, y, marker='o' if len(x) <= 30 else None, ms=3,
                    label=label)
            ax.set_xlabel(x_label)
            if x_label == 'epoch':
                from matplotlib.ticker import MaxNLocator
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(loc='best')
    if title:
        fig.suptitle(title)
    return save_figure(fig, out_file)


def cal_train_time(records: List[dict]) -> Dict[str, float]:
    """Seconds per training iteration: ``mean`` over all, and the
    ``slowest``/``fastest`` epoch's mean (``time`` of the training records).

    Raises:
        ValueError: no training record has ``time``.
    """
    per_epoch = defaultdict(list)
    for r in records:
        if 'iter' in r and 'time' in r:
            per_epoch[r.get('epoch', 0)].append(float(r['time']))
    if not per_epoch:
        raise ValueError('no training record with a "time" value')
    means = {e: float(np.mean(v)) for e, v in per_epoch.items()}
    slow = max(means, key=means.get)
    fast = min(means, key=means.get)
    allv = [t for v in per_epoch.values() for t in v]
    return dict(mean=float(np.mean(allv)), std=float(np.std(allv)),
                slowest_epoch=slow, slowest=means[slow], fastest_epoch=fast,
                fastest=means[fast])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot training/validation curves or compute the '
        'training time of runs from their vis_data/scalars.json')
    sub = parser.add_subparsers(dest='task', required=True)
    p = sub.add_parser('plot_curve', help='plot scalars over iterations '
                       '(training) or epochs (validation)')
    p.add_argument('runs', nargs='+', metavar='WORK_DIR',
                   help='work dir, <timestamp> folder or scalars.json')
    p.add_argument('--keys', nargs='+', default=['loss'],
                   help='scalars to plot, one panel each (default: loss), '
                   'e.g. loss gzsl/HM')
    p.add_argument('--legend', nargs='+',
                   help='one label per run (default: the paths)')
    p.add_argument('--title', help='figure title')
    p.add_argument('--out', help='PNG to write (default: '
                   '<first WORK_DIR>/curves.png)')
    t = sub.add_parser('cal_train_time', help='mean seconds per training '
                       'iteration, slowest and fastest epoch')
    t.add_argument('runs', nargs='+', metavar='WORK_DIR',
                   help='work dir, <timestamp> folder or scalars.json')
    args = parser.parse_args(argv)
    if getattr(args, 'legend', None) and len(args.legend) != len(args.runs):
        parser.error(f'--legend has {len(args.legend)} labels for '
                     f'{len(args.runs)} runs')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        files = [find_scalars(r) for r in args.runs]
        records = [load_scalars(f) for f in files]
        if args.task == 'cal_train_time':
            for f, recs in zip(files, records):
                t = cal_train_time(recs)
                print(f'{f}\n  slowest epoch {t["slowest_epoch"]}: '
                      f'{t["slowest"]:.4f} s/iter\n  fastest epoch '
                      f'{t["fastest_epoch"]}: {t["fastest"]:.4f} s/iter\n'
                      f'  mean: {t["mean"]:.4f} +- {t["std"]:.4f} s/iter')
            return None
        labels = args.legend or args.runs
        out = args.out or osp.join(
            args.runs[0] if osp.isdir(args.runs[0]) else
            osp.dirname(files[0]), 'curves.png')
        path = plot_curve(dict(zip(labels, records)), args.keys, out,
                          args.title)
    except (FileNotFoundError, ValueError, KeyError) as err:
        sys.exit(f'error: {err.args[0] if isinstance(err, KeyError) else err}')
    print(f'curves ({", ".join(args.keys)}): {path}')
    return path


if __name__ == '__main__':
    main()
