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
import warnings

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
    parser.add_argument('--topk', type=int, default=None,
                        help='ranked classes shown per clip (default 5, or '
                        'all candidates if fewer)')
    parser.add_argument('--beta', type=float, default=None,
                        help='calibration added to the distance of training '
                        '(seen) classes before ranking (default: the beta '
                        'chosen on validation that the checkpoint records, '
                        'as tools/test.py; 0 if it records none)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args(argv)
    if (args.topk is not None and args.topk < 1) or args.clips < 0:
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


def beta_line(model, beta) -> str:
    """One line saying which calibration beta ranks the classes."""
    from stftbox.apis.inference import default_beta
    if beta is not None:
        return f'beta {beta:.2f} (--beta)'
    cal = getattr(model, 'calibration', None) or {}
    if cal.get('beta') is not None:
        epoch = f", epoch {cal['epoch']}" if 'epoch' in cal else ''
        return (f'beta {default_beta(model):.2f} (chosen on validation, '
                f'recorded in the checkpoint{epoch})')
    return 'beta 0.00 (the checkpoint records none; plain nearest class)'


def file_class_note(features, class_names, model) -> str:
    """A note when the feature file is one class's file of the benchmark
    layout (``.../<split>/<Class>.pkl``) and that class is not among the
    candidates (then no answer can be right); '' otherwise."""
    import os.path as osp

    from stftbox.apis.inference import _norm_name, _training_classes
    stem, ext = osp.splitext(osp.basename(features))
    if ext not in ('.pkl', '.h5'):
        return ''
    if class_names is None:
        try:
            class_names = _training_classes(model)[0]
        except ValueError:
            return ''
    if _norm_name(stem) in {_norm_name(n) for n in class_names}:
        return ''
    split = osp.basename(osp.dirname(features))
    return (f"note: {osp.basename(features)} holds clips of class '{stem}' "
            f"({split}), which is not among the {len(class_names)} "
            'candidate classes')


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
        with warnings.catch_warnings():  # said below, once
            warnings.filterwarnings('ignore', message='topk=')
            results = inference_model(model, audio, video,
                                      class_names=args.classes,
                                      topk=args.topk, beta=args.beta)
    except (DatasetError, CheckpointError, DownloadError, ModelZooError,
            ClassNameEncoderError, FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    n_cand = len(results[0]['class_names']) if results else 0
    print(beta_line(model, args.beta))
    if args.topk is not None and args.topk > n_cand:
        print(f'note: --topk {args.topk} but there are only {n_cand} '
              f'candidate classes; showing {n_cand}')
    note = file_class_note(args.features, args.classes, model)
    if note:
        print(note)
    for name, res in zip(names, results):
        res['clip_name'] = name
        print(format_table(res))
    return results


if __name__ == '__main__':
    main()
