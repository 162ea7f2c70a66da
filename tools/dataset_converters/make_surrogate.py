"""Write the synthetic ("surrogate") AV-GZSL benchmark in the real layout.

    python tools/dataset_converters/make_surrogate.py \
        --out data/surrogate_avgzsl --seed 0

writes ``<out>/UCF/`` (class-split/, features/surrogate_temporal/...). The
features are synthetic; see docs/data.md ("The surrogate benchmark") before
reading anything into numbers obtained on it.
"""
import argparse
import sys
import time

from stftbox.datasets.surrogate import make_surrogate_benchmark


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True,
                   help='benchmark root; the dataset goes to <out>/<dataset>')
    p.add_argument('--dataset', default='UCF',
                   help='dataset name (only UCF split files are bundled)')
    p.add_argument('--seed', type=int, default=0,
                   help='generator seed (default 0)')
    p.add_argument('--method', default='surrogate_temporal',
                   help='folder name under features/')
    p.add_argument('--audio-channels', type=int, default=128,
                   help='audio feature width D_a (default 128)')
    p.add_argument('--video-channels', type=int, default=512,
                   help='video feature width D_v (default 512)')
    p.add_argument('--max-clips-per-class', type=int, default=None,
                   help='cap clips per class and split (quick runs)')
    p.add_argument('--class-split-dir', default=None,
                   help='use these class-split files instead of the bundled')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t = time.time()
    root = make_surrogate_benchmark(
        args.out, dataset=args.dataset, seed=args.seed,
        audio_channels=args.audio_channels,
        video_channels=args.video_channels, method=args.method,
        max_clips_per_class=args.max_clips_per_class,
        class_split_dir=args.class_split_dir)
    print(f'surrogate benchmark ready at {root} ({time.time() - t:.1f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
