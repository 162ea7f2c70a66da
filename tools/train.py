"""Train a model from a config with the mmengine Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--vis-backend local|tensorboard|wandb]
                          [--cfg-options k=v ...] [--launcher pytorch]

The data roots are checked (and the bundled surrogate generated) before the
Runner is built, so a missing-data error is the only thing printed. The
console shows training progress; the start-up dump (environment, config,
hook order) is in ``<work_dir>/<timestamp>/<timestamp>.log``. The config's
folder is put on ``sys.path`` so that its ``custom_imports`` find modules
next to it; ``_base_`` may name shipped configs as ``'stftbox::<path>'``.
"""
import argparse
import os
import os.path as osp
import sys

import torch

from mmengine.config import Config, DictAction

from stftbox.engine import (ConfigCheckError, WorkDirInUseError, build_runner,
                            check_config, check_data, check_work_dir,
                            load_config, print_scores, set_vis_backend,
                            setup_cpu_distributed)
from stftbox.apis import register_all_modules
from stftbox.engine.runtime import VIS_BACKENDS
from stftbox.datasets import DatasetError
from stftbox.engine.hooks import MetricKeyError
from stftbox.engine.runner import ResumeConfigError
from stftbox.fileio import (CheckpointError, DownloadError, ModelZooError,
                            resolve_load_from)
from stftbox.registry import unregistered_type_message
from stftbox.utils import tune_if_requested


def parse_args():
    parser = argparse.ArgumentParser(description='Train an stftbox model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument('--force', action='store_true', help='delete the '
                        'checkpoints of an earlier run in the work dir '
                        '(default: they are moved into that run\'s '
                        '<timestamp>/ folder)')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training (GPU only)')
    parser.add_argument('--vis-backend', choices=sorted(VIS_BACKENDS),
                        help='also log scalars to tensorboard or wandb '
                        '(local vis_data/scalars.json is always written; '
                        "default: the config's visualizer)")
    parser.add_argument('--tune-malloc', action='store_true',
                        help='keep freed large tensors in the heap (glibc '
                        'mallopt, process-wide; faster CPU steps at paper '
                        'widths; also STFTBOX_MALLOC_TUNING=1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'train_cfg.max_epochs=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm',
                                               'mpi'], default='none',
                        help='job launcher (pytorch: torchrun, see '
                        'tools/dist_train.sh; slurm: tools/slurm_train.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by the launcher; do not pass it yourself')
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_cfg(args) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if not torch.cuda.is_available():
            sys.exit('error: --amp (mixed precision) needs a GPU; none is '
                     'available')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    if args.vis_backend:
        try:
            set_vis_backend(cfg, args.vis_backend)
        except ValueError as err:
            sys.exit(f'error: {err}')
    setup_cpu_distributed(cfg, args.launcher)
    return cfg


def main():
    args = parse_args()
    tune_if_requested(args.tune_malloc)
    register_all_modules()
    try:
        cfg = build_cfg(args)
        resolve_load_from(cfg)  # a URL / zoo name: verified download
        check_config(cfg)
        moved = check_work_dir(cfg, force=args.force)
        if moved and int(os.environ.get('LOCAL_RANK', 0)) == 0:
            print(moved)
        check_data(cfg, prepare=args.launcher == 'none')
        runner = build_runner(cfg)
        runner.train()
    except (DatasetError, ConfigCheckError, WorkDirInUseError,
            DownloadError, ModelZooError, CheckpointError, ResumeConfigError,
            MetricKeyError) as err:
        sys.exit(f'error: {err}')
    except KeyError as err:   # a type no registry knows (plugin not imported)
        line = unregistered_type_message(err)
        if line is None:
            raise
        sys.exit(f'error: {line}')
    best = next((hook.best for hook in runner.hooks
                 if type(hook).__name__ == 'CalibrationHook'), None)
    if best:
        print_scores(best, title=f"Best validation (epoch {best['epoch']}, "
                     f"beta {best['beta']:.2f})")


if __name__ == '__main__':
    main()
