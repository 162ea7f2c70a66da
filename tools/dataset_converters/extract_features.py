"""Build CLIP/CLAP features of the AV-GZSL benchmark from raw videos.

Usage::

    python tools/dataset_converters/extract_features.py DATASET VIDEO_DIR \\
        [--out-root data/avgzsl_benchmark_non_averaged_datasets] \\
        [--class-split <Dataset>/class-split] [--split cls_split] \\
        [--layouts temporal averaged] [--extractor-cfg FILE] \\
        [--clip-model ID] [--clap-model ID] [--device cuda] \\
        [--num-shards N --shard-id I]

DATASET: ucf | vggsound | activitynet. VIDEO_DIR: the raw videos (any
depth; a clip is found by the ``filename`` column of the split csv files,
e.g. ``v_ApplyEyeMakeup_g08_c01.avi`` for UCF101). Writes
``<out-root>/<Dataset>/`` with ``features/clipclap_features_non_averaged/``
(temporal ``.pkl``: a CLIP frame and a CLAP 1 s window a second) and
``features/clipclap_features/`` (averaged ``.h5``: the middle frame and 10 s
of audio centred on the clip, ClipClap-GZSL's recipe), class-name
embeddings (CLIP text + CLAP text), ``extractor.json`` (recorded in
checkpoints, used by ``demo/zero_shot_video.py``) and
``extract_report.json`` in each method folder (clips without audio,
unreadable files, missing videos, split, complete or not). Then checks the layout with the benchmark layout checker.

Models: ``openai/clip-vit-base-patch32`` and ``laion/clap-htsat-unfused``
from the Hugging Face cache (``hf download <id>`` once), or
``--extractor-cfg`` with ``clip=dict(...)`` / ``clap=dict(...)`` specs
(``configs/_base_/extractors/clipclap_tiny_random.py``: tiny random models).

Resumable: rerun the same command after a crash or kill; clips already done
are skipped and the output is the same, byte for byte. Shards: run N
processes with ``--num-shards N --shard-id i`` (or under ``torchrun
--nproc-per-node N``, which sets ``RANK``/``WORLD_SIZE``); the class files
are written by whichever shard finishes last, or by a final run with
``--num-shards 1`` that finds every clip done. Exit status 0 when the data
root is complete and passes the layout check, 1 otherwise, 2 on bad input.
"""
import argparse
import os
import os.path as osp
import sys
import time

try:
    import stftbox  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))

DEFAULT_ROOT = osp.join('data', 'avgzsl_benchmark_non_averaged_datasets')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Extract CLIP/CLAP features from raw videos into the '
        'AV-GZSL benchmark layout (resumable, shardable).')
    p.add_argument('dataset', help='ucf | vggsound | activitynet')
    p.add_argument('video_dir', help='folder of raw videos (any depth)')
    p.add_argument('--out-root', default=DEFAULT_ROOT,
                   help=f'benchmark root holding <Dataset>/ (default '
                   f'{DEFAULT_ROOT})')
    p.add_argument('--class-split', help='<Dataset>/class-split folder '
                   '(default: the bundled one; only UCF is bundled)')
    p.add_argument('--split', default='cls_split',
                   help='split kind whose csv files list the clips '
                   '(default cls_split, as ClipClap-GZSL)')
    p.add_argument('--layouts', nargs='+', default=['temporal', 'averaged'],
                   choices=['temporal', 'averaged'],
                   help='temporal (.pkl, a step a second) and/or averaged '
                   '(.h5, middle frame + 10 s centred audio); default both')
    p.add_argument('--extractor-cfg', help='python/json file with clip= '
                   'and clap= model specs (e.g. configs/_base_/extractors/'
                   'clipclap_tiny_random.py)')
    p.add_argument('--clip-model', help='CLIP Hub id or folder (default '
                   'openai/clip-vit-base-patch32)')
    p.add_argument('--clap-model', help='CLAP Hub id or folder (default '
                   'laion/clap-htsat-unfused)')
    p.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1 '
                   '(under torchrun: cuda:$LOCAL_RANK when cuda)')
    p.add_argument('--num-shards', type=int, help='default $WORLD_SIZE or 1')
    p.add_argument('--shard-id', type=int, help='default $RANK or 0')
    p.add_argument('--no-retry-failed', action='store_true',
                   help='do not retry clips an earlier run found unreadable')
    p.add_argument('--keep-work', action='store_true',
                   help='keep <root>/.extract_work after a complete run')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')
    p.add_argument('--no-check', action='store_true',
                   help='skip the layout check at the end')
    args = p.parse_args(argv)
    env = os.environ
    if args.num_shards is None:
        args.num_shards = int(env.get('WORLD_SIZE', 1))
    if args.shard_id is None:
        args.shard_id = int(env.get('RANK', 0))
    if args.device == 'cuda' and 'LOCAL_RANK' in env:
        args.device = f'cuda:{env["LOCAL_RANK"]}'
    if not 0 <= args.shard_id < args.num_shards:
        p.error(f'--shard-id {args.shard_id} must be in [0, '
                f'--num-shards {args.num_shards})')
    return args


def _specs(args):
    clip, clap = {}, {}
    if args.extractor_cfg:
        from mmengine.config import Config
        cfg = Config.fromfile(args.extractor_cfg)
        clip = dict(cfg.get('clip') or {})
        clap = dict(cfg.get('clap') or {})
        clip = {k: (v.to_dict() if hasattr(v, 'to_dict') else v)
                for k, v in clip.items()}
        clap = {k: (v.to_dict() if hasattr(v, 'to_dict') else v)
                for k, v in clap.items()}
    if args.clip_model:
        clip = dict(model=args.clip_model)
    if args.clap_model:
        clap = dict(model=args.clap_model)
    return clip or None, clap or None


def _summary(report, seconds, extracted):
    """Lines: counts and speed, then up to 5 examples of each problem."""
    rate = f' ({extracted / seconds:.2f} clips/s)' if extracted else ''
    lines = [f'{report["dataset_name"]}: {report["resolved"]}/'
             f'{report["clips"]} clips resolved, {extracted} extracted in '
             f'this run in {seconds:.1f} s{rate}']
    unreadable = [f'{k} ({v})' for k, v in report['unreadable'].items()]
    for items, what in (
            (report['missing_videos'], 'clips without a video file'),
            (unreadable, 'unreadable files'),
            (report['silent_audio'], 'clips without audio (silent audio '
             'used)'),
            (report['empty_class_files'], 'class files without clips'),
            (report['pending'], 'clips of other shards not done yet')):
        if items:
            more = ' ...' if len(items) > 5 else ''
            lines.append(f'  {len(items)} {what}: '
                         f'{", ".join(items[:5])}{more}')
    lines += ['  report: ' + path for path in report['reports']]
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from stftbox.datasets.errors import DatasetError
    from stftbox.extractors import ExtractorModelError
    from stftbox.extractors.convert import extract_dataset
    from stftbox.datasets.avgzsl_layout import check_avgzsl_layout
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    kill_after = os.environ.get('STFTBOX_EXTRACT_KILL_AFTER')  # tests

    def on_clip(n):  # simulate a hard kill after n clips (resume tests)
        if kill_after and n >= int(kill_after):
            import signal
            os.kill(os.getpid(), signal.SIGKILL)
    t0 = time.time()
    try:
        clip, clap = _specs(args)
        report = extract_dataset(
            args.video_dir, args.out_root, args.dataset,
            class_split_dir=args.class_split, split=args.split,
            layouts=args.layouts, clip=clip, clap=clap, device=args.device,
            num_shards=args.num_shards, shard_id=args.shard_id,
            retry_failed=not args.no_retry_failed,
            keep_work=args.keep_work, progress=not args.no_progress,
            on_clip=on_clip)
    except (DatasetError, ExtractorModelError, FileNotFoundError,
            ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(_summary(report, time.time() - t0, report['extracted']))
    if not report['complete']:
        print('not complete yet: rerun the same command (or wait for the '
              'other shards) to finish')
        return 1
    ok = True
    if not args.no_check:
        from stftbox.extractors.av_extractor import LAYOUTS
        for layout in args.layouts:
            rep = check_avgzsl_layout(
                report['data_root'],
                method=LAYOUTS[layout]['feature_method'])
            print(rep.format())
            ok = ok and rep.ok
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
