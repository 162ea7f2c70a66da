"""Extraction speed in clips per second (both layouts from one decode, as
extract_features.py runs), on synthetic clips written with PyAV.

    python tools/analysis_tools/benchmark_extraction.py \
        [--extractor-cfg configs/_base_/extractors/clipclap_tiny_random.py] \
        [--clips 8] [--seconds 10] [--size 240] [--fps 25] [--device cpu]

Without ``--extractor-cfg`` the real default models are used (Hugging Face
cache). The first clip warms up and is not timed. Prints one line:
clips/s, seconds per clip, the decode share.
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

try:
    import stftbox  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--extractor-cfg', help='file with clip=/clap= model '
                   'specs (default: the real default models)')
    p.add_argument('--clips', type=int, default=8,
                   help='timed clips (default 8; one more warms up)')
    p.add_argument('--seconds', type=float, default=10.0,
                   help='clip length in seconds (default 10)')
    p.add_argument('--size', type=int, default=240,
                   help='frame width = height in pixels (default 240)')
    p.add_argument('--fps', type=int, default=25,
                   help='frames per second (default 25)')
    p.add_argument('--device', default='cpu', help='cpu, cuda, ...')
    p.add_argument('--layouts', nargs='+', default=['temporal', 'averaged'],
                   choices=['temporal', 'averaged'],
                   help='layouts extracted per clip (default both)')
    args = p.parse_args(argv)
    import torch
    from transformers.utils import logging as hf_logging

    from stftbox.extractors import clipclap_extractor
    from stftbox.extractors.convert import _extract_clip
    from stftbox.extractors.decode import (decode_audio, decode_frames,
                                           probe_media)
    from stftbox.extractors.synthetic import write_clip
    hf_logging.set_verbosity_error()
    clip = clap = None
    if args.extractor_cfg:
        from mmengine.config import Config
        cfg = Config.fromfile(args.extractor_cfg)
        clip, clap = cfg.clip.to_dict(), cfg.clap.to_dict()
    extractors = {k: clipclap_extractor(k, clip=clip, clap=clap,
                                        device=args.device)
                  for k in args.layouts}
    sr = next(iter(extractors.values())).audio.sample_rate
    with tempfile.TemporaryDirectory() as tmp:
        paths = [write_clip(osp.join(tmp, f'c{i}.mp4'), seconds=args.seconds,
                            fps=args.fps, size=args.size, sample_rate=48000,
                            tone=200.0 + 50 * i)
                 for i in range(args.clips + 1)]
        _extract_clip(paths[0], extractors)  # warm-up
        t_dec = 0.0
        for path in paths[1:]:
            t = time.perf_counter()
            dur = probe_media(path)['duration']
            times = sorted({float(x) for e in extractors.values()
                            for x in e.frame_times(dur)})
            decode_frames(path, times)
            decode_audio(path, sr)
            t_dec += time.perf_counter() - t
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for path in paths[1:]:
            _extract_clip(path, extractors)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        total = time.perf_counter() - t0
    n = args.clips
    print(f'{args.extractor_cfg or "default models"} on {args.device} '
          f'({torch.get_num_threads()} threads): {n / total:.2f} clips/s, '
          f'{total / n:.3f} s a clip ({args.seconds:g} s, {args.size}x'
          f'{args.size} at {args.fps} fps, layouts {" + ".join(args.layouts)}'
          f'); decoding {100 * t_dec / total:.0f} % of it')


if __name__ == '__main__':
    main()
