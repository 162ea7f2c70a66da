"""Zero-shot on a video file: rank class names of your choice.

    python demo/zero_shot_video.py VIDEO CONFIG CHECKPOINT \
        --classes "playing cello,surfing,brushing teeth" [--topk 3]

The video is decoded (PyAV) and embedded by the feature extractor the
checkpoint was trained with -- recorded in its meta when the training
features came from ``tools/dataset_converters/extract_features.py``
(CLIP frames + CLAP audio) -- and the class names by the matching CLIP +
CLAP text towers; classes are ranked by L2 distance in the model's joint
space (nearest first). A clip without an audio track gets silent audio.
Example (features built as in docs/data.md, "Building the features
yourself"):

    python demo/zero_shot_video.py my_clip.mp4 \
        configs/stft_ucf_clipclap.py work_dirs/stft_ucf_clipclap/best.pth \
        --classes "Playing Cello,Surfing,Apply Eye Makeup"
"""
import argparse
import os.path as osp
import sys

try:
    import stftbox  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from stftbox.apis.inference import (ClassNameEncoderError, inference_model,
                                    init_model)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Rank any class names for a video file with a trained '
        'model (zero-shot)')
    parser.add_argument('video', help='video file (.mp4, .avi, .mkv, ...)')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file, http(s) URL or '
                        'model-zoo name')
    parser.add_argument('--classes', help='comma-separated candidate class '
                        'names (default: the classes of the checkpoint\'s '
                        'split, seen and unseen)')
    parser.add_argument('--topk', type=int, default=5,
                        help='ranked classes shown (default 5)')
    parser.add_argument('--beta', type=float, default=None,
                        help='calibration added to the distance of training '
                        '(seen) classes before ranking (default: the beta '
                        'recorded in the checkpoint, 0 when none)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error('--topk must be >= 1')
    if args.classes is not None:
        names = [c.strip() for c in args.classes.split(',')]
        if not all(names):
            parser.error(f'--classes {args.classes!r}: empty class name')
        args.classes = names
    return args


def beta_line(model, beta) -> str:
    """The beta line of ``demo/zero_shot_demo.py`` (one wording for
    both demos)."""
    import importlib.util
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'zero_shot_demo.py')
    spec = importlib.util.spec_from_file_location('_zero_shot_demo', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.beta_line(model, beta)


def main(argv=None):
    from stftbox.datasets import DatasetError
    from stftbox.extractors import ExtractorModelError, MediaDecodeError
    from stftbox.fileio import CheckpointError, DownloadError, ModelZooError
    args = parse_args(argv)
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        model = init_model(args.config, args.checkpoint, device=args.device)
        res = inference_model(model, video=args.video,
                              class_names=args.classes, topk=args.topk,
                              beta=args.beta)
    except (DatasetError, CheckpointError, DownloadError, ModelZooError,
            ClassNameEncoderError, ExtractorModelError, MediaDecodeError,
            FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    names = res['topk_classes']
    width = max([len(n) for n in names] + [5]) + len(' (seen)')
    print(f"video {res['clip_name']}")
    print(beta_line(model, args.beta))
    print(f"  {'rank':>4}  {'class':<{width}}  {'distance':>8}")
    for r, (i, n, d) in enumerate(zip(res['topk_indices'], names,
                                      res['topk_distances']), 1):
        tag = ' (seen)' if res['seen'][i] else ''
        print(f'  {r:>4}  {n + tag:<{width}}  {d:>8.4f}')
    return res


if __name__ == '__main__':
    main()
