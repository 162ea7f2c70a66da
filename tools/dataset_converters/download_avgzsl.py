"""Fetch a published AV-GZSL temporal feature archive and check the layout.

Usage::

    python tools/dataset_converters/download_avgzsl.py DATASET FEATURES \\
        [--root data/avgzsl_benchmark_non_averaged_datasets] [--mirror URL]

DATASET: vggsound | ucf | activitynet. FEATURES: supervised (alias cls;
C3D/VGGish, cls_split) | selavi (alias main; SeLaVi, main_split).

Steps: download ``<dataset>-<features>-temporal.zip`` from
https://s3.mlcloud.uni-tuebingen.de/tcaf-gzsl/ (or ``--mirror`` /
``$STFTBOX_DATA_MIRROR``) into ``--download-dir`` (default
``<cache>/datasets``), resuming a partial download; unpack it safely
(absolute paths, ``..`` members and links are refused) under
``<root>/<Dataset>/``; optionally copy ``class-split/`` from
``--class-split-from`` when it is missing; check the layout and print a
report of anything missing. Exit status 0 when the layout is complete, 1
otherwise. The features are by Mercea et al. (TCaF-GZSL, ECCV 2022); see
their licence.

Checksums: :data:`ARCHIVES` keeps the SHA-256 and size of each archive where
they are known. The authors never published any, and the archives could not
be fetched from here to measure them, so every entry is ``None`` (unknown)
today: a download is then checked only as a valid zip; pass ``--sha256``
when you have a digest from a trusted copy.

Dead links: since December 2025 the C3D/VGGish links are reported dead
(ExplainableML/TCAF-GZSL#17). A failed download says so and prints how to
use a mirror (``--mirror``) or rebuild CLIP/CLAP features from the raw
videos with ``tools/dataset_converters/extract_features.py`` (docs/data.md,
"Building the features yourself").
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import zipfile

try:
    import stftbox  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))

from stftbox.fileio import (ChecksumError, DownloadError, download,
                            get_cache_dir)
from stftbox.datasets.avgzsl_layout import (UnsafeArchiveError,
                                            check_avgzsl_layout,
                                            feature_archive_name,
                                            feature_archive_url,
                                            safe_extract_zip)
from stftbox.datasets.avgzsl_layout import (DATASET_DIRS, FEATURE_TYPES,
                                         canonical_dataset,
                                         canonical_features)

DEFAULT_ROOT = osp.join('data', 'avgzsl_benchmark_non_averaged_datasets')

#: archive -> known SHA-256 (hex) and size (bytes). ``None`` = unknown: the
#: authors published none and the host was unreachable when this table was
#: written. Fill in only digests measured on a complete trusted copy.
ARCHIVES = {
    f'{ds}-{kind}-temporal.zip': dict(sha256=None, size=None)
    for ds in ('vggsound', 'ucf', 'activitynet')
    for kind in ('supervised', 'selavi')
}


def dead_link_hint(dataset, url, exc):
    """The message for a failed archive download: what failed, that the
    links are known to die, and the two ways out (a mirror, or building
    CLIP/CLAP features from the raw videos)."""
    return (f'{exc}\nThe published feature archives are going away (the '
            'C3D/VGGish links are reported dead since December 2025, '
            f'ExplainableML/TCAF-GZSL#17); {url} could not be fetched. '
            'Either pass --mirror <base URL> of a copy (or set '
            '$STFTBOX_DATA_MIRROR), or build CLIP/CLAP features from the raw '
            'videos: python tools/dataset_converters/extract_features.py '
            f'{dataset} <video folder> [--class-split <{DATASET_DIRS[dataset]}'
            '/class-split>] and train configs/stft_'
            f'{dataset}_clipclap.py (docs/data.md, "Building the features '
            'yourself").')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Download and unpack an AV-GZSL feature archive, then '
        'check the benchmark layout.')
    parser.add_argument('dataset', help='vggsound | ucf | activitynet')
    parser.add_argument('features', help='supervised (cls) | selavi (main)')
    parser.add_argument('--root', default=DEFAULT_ROOT,
                        help='benchmark root holding <Dataset>/ folders '
                        f'(default {DEFAULT_ROOT})')
    parser.add_argument('--mirror', help='base URL replacing the published '
                        'one (default $STFTBOX_DATA_MIRROR)')
    parser.add_argument('--download-dir', help='where the zip is kept '
                        '(default <cache>/datasets)')
    parser.add_argument('--sha256', help='expected SHA-256 of the zip')
    parser.add_argument('--class-split-from', help='a <Dataset>/class-split '
                        'folder to copy when the archive has none')
    parser.add_argument('--skip-download', action='store_true',
                        help='only unpack an already downloaded zip / check')
    parser.add_argument('--remove-zip', action='store_true',
                        help='delete the zip after unpacking')
    parser.add_argument('--quick', action='store_true',
                        help='check file presence only, do not read every '
                        'feature file')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='network timeout in seconds')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bars (download, unpacking)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        dataset = canonical_dataset(args.dataset)
        features = canonical_features(args.features)
        url = feature_archive_url(dataset, features, args.mirror)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    dataset_root = osp.join(args.root, DATASET_DIRS[dataset])
    zip_dir = args.download_dir or osp.join(get_cache_dir(), 'datasets')
    zip_path = osp.join(zip_dir, feature_archive_name(dataset, features))
    known = ARCHIVES.get(osp.basename(zip_path), {})
    sha256 = args.sha256 or known.get('sha256')
    try:
        if not args.skip_download:
            print(f'downloading {url}\n         -> {zip_path}')
            if sha256 is None:
                print('note: no known SHA-256 for '
                      f'{osp.basename(zip_path)} (none published); checking '
                      'that it is a complete zip only')
            try:
                # without a known SHA-256 a cached zip is revalidated with
                # the server (ETag / Last-Modified), never silently stale
                download(url, zip_path, sha256=sha256,
                         progress=not args.no_progress, timeout=args.timeout,
                         expect='zip', size=known.get('size'),
                         revalidate=sha256 is None)
            except DownloadError as exc:
                if isinstance(exc, ChecksumError):
                    raise
                print(f'error: {dead_link_hint(dataset, url, exc)}',
                      file=sys.stderr)
                return 1
        if not osp.isfile(zip_path):
            print(f'error: {zip_path} does not exist', file=sys.stderr)
            return 1
        print(f'unpacking into {dataset_root}')
        files = safe_extract_zip(zip_path, dataset_root, dataset,
                                 progress=not args.no_progress)
        print(f'unpacked {len(files)} files')
    except (DownloadError, UnsafeArchiveError, zipfile.BadZipFile,
            OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    if args.remove_zip:
        os.remove(zip_path)
    split_dst = osp.join(dataset_root, 'class-split')
    if args.class_split_from and not osp.isdir(split_dst):
        shutil.copytree(args.class_split_from, split_dst)
        print(f'copied class-split from {args.class_split_from}')
    report = check_avgzsl_layout(dataset_root, features=features,
                                 read_features=not args.quick)
    print(report.format())
    if not report.ok and not osp.isdir(split_dst):
        print('hint: the class-split files come with the AVCA-GZSL '
              'repository (avgzsl_benchmark_non_averaged_datasets/'
              f'{DATASET_DIRS[dataset]}/class-split); pass '
              '--class-split-from to copy them.')
    if report.ok:
        split = FEATURE_TYPES[features]['split']
        print(f'ready: use data_root={dataset_root!r} with {split}')
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
