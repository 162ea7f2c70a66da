"""Run the two-stage AV-GZSL protocol for a config.

    python tools/run_protocol.py CONFIG [--work-dir DIR] [--threads N]
                                 [--cfg-options ...]

Stage 1: train on stage-1 train, choose the epoch and calibration beta with
the best validation HM. Stage 2: retrain on train + val for that many
epochs, test with that beta. Writes <work-dir>/protocol.json and prints the
table. Rerunning resumes: a finished stage 1 is not repeated. The config is
checked before any data is read; the summary records the environment the
numbers depend on (versions, torch threads, num_workers, seed).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from stftbox.engine import (ConfigCheckError, check_config, check_data,
                            load_config, print_scores)
from stftbox.apis import register_all_modules
from stftbox.engine.protocol import run_protocol
from stftbox.datasets import DatasetError
from stftbox.engine.hooks import MetricKeyError
from stftbox.engine.runner import ResumeConfigError
from stftbox.fileio import CheckpointError


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='stage-1 config file path')
    parser.add_argument('--work-dir', help='output folder (default: '
                        'work_dirs/<config name>_protocol)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'train_cfg.max_epochs=10')
    parser.add_argument('--threads', type=int, help='torch threads (the '
                        'numbers depend on it; the model zoo records it)')
    args = parser.parse_args()
    register_all_modules()
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_protocol')
    try:
        cfg = load_config(args.config, args.cfg_options)
        check_config(cfg)  # before any data is read or generated
        check_data(cfg, loaders=('train_dataloader', 'val_dataloader',
                                 'test_dataloader'))
        summary = run_protocol(cfg, work_dir, threads=args.threads)
    except (DatasetError, ConfigCheckError, CheckpointError, MetricKeyError,
            ResumeConfigError) as err:
        sys.exit(f'error: {err}')
    s1 = summary['stage1']
    print_scores(s1, title=f"Stage 1 validation: best epoch {s1['epoch']}, "
                 f"beta {s1['beta']:.2f}")
    print_scores(summary['test'], title=f"Stage 2 test ({summary['epochs']} "
                 f"epochs on train+val, beta {summary['beta']:.2f})")
    print(f"summary: {osp.join(work_dir, 'protocol.json')}")


if __name__ == '__main__':
    main()
