"""Plots of a ``tools/test.py --dump preds.pkl`` results file.

    python tools/analysis_tools/analyze_results.py preds.pkl \
        [--out-dir DIR] [--num-classes 15] [--beta B] [--per-class]
        [--confusion rows|counts]

Writes into DIR (default: the folder of preds.pkl):

* ``per_class_accuracy.png``: GZSL accuracy of every test class, seen blue,
  unseen orange, dashed lines at S and U, an ``x`` on classes at 0 %;
* ``confusion_matrix.png``: the most confused classes, each row in percent
  of its class's clips (``--confusion counts``: clip counts), colour bar
  labelled;
* ``calibration_curve.png``: S, U and HM over the calibration beta, the
  file's beta marked ("chosen" when chosen on validation, "forced" with
  ``--beta``).
"""
import argparse
import os.path as osp
import sys

from stftbox.evaluation.result_plots import plot_results
from stftbox.evaluation.results import (build_results,
                                        format_per_class_table, load_results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot per-class accuracy, the most confused classes and '
        'the S/U/HM calibration curve of a tools/test.py --dump file')
    parser.add_argument('results', help='results file written by '
                        'tools/test.py --dump preds.pkl')
    parser.add_argument('--out-dir', help='folder for the PNG files '
                        '(default: the folder of the results file)')
    parser.add_argument('--num-classes', type=int, default=15,
                        help='classes in the confusion matrix (the most '
                        'confused ones; default 15)')
    parser.add_argument('--beta', type=float,
                        help='recompute the predictions at this calibration '
                        'beta instead of the one in the file')
    parser.add_argument('--per-class', action='store_true',
                        help='also print the per-class accuracy table')
    parser.add_argument('--confusion', choices=['rows', 'counts'],
                        default='rows', help='confusion-matrix cells: '
                        "percent of the row's clips (default) or counts")
    args = parser.parse_args(argv)
    if args.num_classes < 1:
        parser.error(f'--num-classes must be >= 1, got {args.num_classes}')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        res = load_results(args.results)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    if args.beta is not None:
        res = build_results(res['distances'], res['labels'],
                            res['class_names'], res['seen_class_ids'],
                            res['unseen_class_ids'], args.beta,
                            res['clip_names'], beta_source='forced')
    m = res['metrics']
    print(f"{args.results}: {len(res['labels'])} clips, beta "
          f"{res['beta']:.2f}: S {m['S']:.2f} U {m['U']:.2f} "
          f"HM {m['HM']:.2f} ZSL {m['ZSL']:.2f}")
    if args.per_class:
        print(format_per_class_table(res))
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.results))
    files = plot_results(res, out_dir, num_classes=args.num_classes,
                         normalize=args.confusion == 'rows')
    for name, path in files.items():
        print(f'{name}: {path}')
    return files


if __name__ == '__main__':
    main()
