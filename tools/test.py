"""Evaluate a checkpoint (local file, URL or model-zoo name) on the test set.

    python tools/test.py CONFIG CHECKPOINT [--beta B] [--out FILE]
                         [--work-dir DIR] [--mirror URL]
                         [--cfg-options k=v ...] [--launcher pytorch]
                         [--dump preds.pkl] [--per-class] [--show-dir DIR]

Prints seen accuracy S, unseen accuracy U, harmonic mean HM and ZSL accuracy
(percent). The calibration beta is, in this order: ``--beta``, the beta chosen
on validation that the checkpoint's meta records (``CalibrationHook``), or
the config's ``test_evaluator.calibration``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.dist import is_main_process

from stftbox.engine import (ConfigCheckError, build_runner, check_config,
                            check_data, load_config, print_scores,
                            setup_cpu_distributed)
from stftbox.apis import register_all_modules
from stftbox.engine.test_outputs import (add_results_dumper, config_test_beta,
                                         finish_results, results_file_arg)
from stftbox.datasets import DatasetError
from stftbox.fileio import (CheckpointError, DownloadError, ModelZooError,
                            dump_json_atomic, load_checkpoint_safely,
                            resolve_checkpoint, safe_torch_load)
from stftbox.registry import unregistered_type_message
from stftbox.utils import tune_if_requested


def parse_args():
    parser = argparse.ArgumentParser(description='Test an stftbox model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint',
                        help='checkpoint file, http(s) URL or model-zoo name')
    parser.add_argument('--beta', type=float, help='calibration beta '
                        '(default: the one stored in the checkpoint)')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--work-dir', help='where logs go (default: '
                        'work_dirs/<config name>)')
    parser.add_argument('--mirror', help='base URL that hosts the model-zoo '
                        'checkpoint files under their zoo file names '
                        '(default: $STFTBOX_MIRROR)')
    parser.add_argument('--tune-malloc', action='store_true',
                        help='keep freed large tensors in the heap (glibc '
                        'mallopt, process-wide; faster CPU steps at paper '
                        'widths; also STFTBOX_MALLOC_TUNING=1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'test_dataloader.dataset.data_root=/path/UCF')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm',
                                               'mpi'], default='none',
                        help='job launcher (pytorch: torchrun, see '
                        'tools/dist_test.sh; slurm: tools/slurm_test.sh)')
    parser.add_argument('--dump', metavar='PKL', type=results_file_arg,
                        help='write per-clip results (distances, predictions '
                        'at the chosen beta, labels, class names, seen/unseen '
                        'ids) to this .pkl; read it with tools/'
                        'analysis_tools/analyze_results.py')
    parser.add_argument('--per-class', action='store_true',
                        help='print the per-class accuracy table (seen/'
                        'unseen marked)')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='write plots here: per_class_accuracy.png, '
                        'confusion_matrix.png, calibration_curve.png')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by the launcher; do not pass it yourself')
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def stage1_note(name, meta, cfg):
    """One line when a checkpoint trained in stage 1 of the protocol
    (``meta['dataset_meta']['phase']`` ``stage_1_train``) is tested on
    stage 2: it never trained on the validation classes, which stage 2
    trains on and which are seen classes of the test."""
    trained = (meta.get('dataset_meta') or {}).get('phase')
    tested = ((cfg.get('test_dataloader') or {}).get('dataset') or {}).get(
        'phase')
    if trained != 'stage_1_train' or not str(tested).startswith('stage_2'):
        return None
    return (f'note: {name} was trained in stage 1 (phase stage_1_train): '
            'it never trained on the validation classes, which the '
            "protocol's final model (stage 2, train + val) has seen and "
            f'which are seen classes of {tested}; these are not test results '
            'of the protocol (tools/run_protocol.py makes the stage-2 model)')


def main():
    args = parse_args()
    tune_if_requested(args.tune_malloc)
    register_all_modules()
    try:
        cfg = load_config(args.config, args.cfg_options)
        check_config(cfg)
    except ConfigCheckError as err:
        sys.exit(f'error: {err}')
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from, cfg.resume = None, False
    setup_cpu_distributed(cfg, args.launcher)
    try:
        # missing data first (it is the only thing printed), generated
        # data (the surrogate) once the checkpoint is there
        check_data(cfg, loaders=('test_dataloader',), prepare=False)
        ckpt = resolve_checkpoint(args.checkpoint, mirror=args.mirror)
        meta = safe_torch_load(ckpt).get('meta') or {}
        note = stage1_note(args.checkpoint, meta, cfg)
        if note:
            print(note, file=sys.stderr)
        beta, beta_source = args.beta, 'forced'
        if beta is None:
            beta = meta.get('calibration', {}).get('beta')
            beta_source = 'validation' if beta is not None else 'config'
        if beta is not None:
            cfg.test_evaluator.calibration = float(beta)
        else:
            print('warning: the checkpoint records no calibration beta '
                  '(meta.calibration) and --beta is not given; using the '
                  "config's test_evaluator.calibration="
                  f'{cfg.test_evaluator.calibration}', file=sys.stderr)
        check_data(cfg, loaders=('test_dataloader',),
                   prepare=args.launcher == 'none')
        dump, run_cfg = add_results_dumper(cfg, args.dump, args.per_class,
                                           args.show_dir)
        runner = build_runner(run_cfg)
        load_checkpoint_safely(runner.model, ckpt, strict=True)
        metrics = runner.test()
    except (DatasetError, CheckpointError, DownloadError, ModelZooError,
            FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    except KeyError as err:   # a type no registry knows (plugin not imported)
        line = unregistered_type_message(err)
        if line is None:
            raise
        sys.exit(f'error: {line}')
    beta = config_test_beta(cfg.test_evaluator)  # beta_rule applied
    beta = f'{beta:.2f}' if beta is not None else \
        cfg.test_evaluator.calibration
    print_scores(metrics, title=f'Test ({args.checkpoint}, beta {beta})')
    finish_results(dump, runner, args.per_class, args.show_dir, beta_source)
    if args.out and is_main_process():
        dump_json_atomic(metrics, args.out)


if __name__ == '__main__':
    main()
