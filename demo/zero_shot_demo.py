"""Zero-shot demo: rank class names of your choice for audio-visual clips.

    python demo/zero_shot_demo.py FEATURES CONFIG CHECKPOINT \
        --classes "playing sitar,brushing teeth,surfing" [--topk 3]

FEATURES is a feature file in the benchmark layout
(``.../features/<method>/audio/<split>/<Class>.pkl``, the video file is found
at the same path under ``video/``) or an ``.npz`` with ``audio`` and
``video`` arrays. The class names may be any names, also ones never seen in
training: they are embedded on the fly by the encoder the model was trained
with (all-MiniLM-L6-v2, bundled, offline) and ranked by L2 distance in the
model's joint space (nearest first). Example with the bundled surrogate data
and the shipped demo checkpoint:

    F=features/surrogate_temporal/audio/stage_2_test_unseen/PlayingSitar.pkl
    D=${STFTBOX_HOME:-~/.cache/stftbox}/data/surrogate_avgzsl/UCF
    python demo/zero_shot_demo.py $D/$F \
        configs/stft_demo.py checkpoints/stft_demo_ucf_surrogate.pth \
        --classes "Playing Sitar,Brushing Teeth,Surfing"
"""
import argparse
import sys

from stftbox.apis.inference import (ClassNameEncoderError, inference_model,
                                    init_model)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Rank any class names for the clips of a feature file '
        'with a trained model (zero-shot)')
    parser.add_argument('features', help='audio (or video) feature file in '
                        'the benchmark layout, or an .npz with audio/video')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file, http(s) URL or '
                        'model-zoo name')
    parser.add_argument('--classes', help='comma-separated candidate class '
                        'names, e.g. "playing sitar,surfing" (default: the '
                        "classes of the checkpoint's split, seen and "
                        'unseen)')
    parser.add_argument('--video', help='the video feature file, when not '
                        'at the mirrored path of FEATURES')
    parser.add_argument('--clips', type=int, default=5,
                        help='show the first N clips of the file (default 5;'
                        ' 0: all)')
    parser.add_argument('--topk', type=int, default=5,
                        help='ranked classes shown per clip (default 5)')
    parser.add_argument('--beta', type=float, default=0.0,
                        help='calibration added to the distance of training '
                        '(seen) classes before ranking (default 0)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args(argv)
    if args.topk < 1 or args.clips < 0:
        parser.error('--topk must be >= 1 and --clips >= 0')
    if args.classes is not None:
        names = [c.strip() for c in args.classes.split(',')]
        if not all(names):
            parser.error(f'--classes {args.classes!r}: empty class name')
        args.classes = names
    return args


def format_table(result: dict) -> str:
    """Rank / class / distance table of one clip's result."""
    names = result['topk_classes']
    width = max([len(n) for n in names] + [5]) + len(' (seen)')
    lines = [f"clip {result.get('clip_name', '?')}",
             f"  {'rank':>4}  {'class':<{width}}  {'distance':>8}"]
    for r, (i, n, d) in enumerate(zip(result['topk_indices'], names,
                                      result['topk_distances']), 1):
        tag = ' (seen)' if result['seen'][i] else ''
        lines.append(f'  {r:>4}  {n + tag:<{width}}  {d:>8.4f}')
    return '\n'.join(lines)


def main(argv=None):
    from stftbox.datasets import DatasetError
    from stftbox.fileio import CheckpointError, DownloadError, ModelZooError
    from stftbox.apis.inference import load_clip_features
    args = parse_args(argv)
    # the class-name encoder loads from a local folder: no progress bar
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    try:
        audio, video, names = load_clip_features(args.features, args.video)
        if args.clips:
            audio, video, names = (audio[:args.clips], video[:args.clips],
                                   names[:args.clips])
        model = init_model(args.config, args.checkpoint, device=args.device)
        results = inference_model(model, audio, video,
                                  class_names=args.classes, topk=args.topk,
                                  beta=args.beta)
    except (DatasetError, CheckpointError, DownloadError, ModelZooError,
            ClassNameEncoderError, FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    for name, res in zip(names, results):
        res['clip_name'] = name
        print(format_table(res))
    return results


if __name__ == '__main__':
    main()
