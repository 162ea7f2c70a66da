"""Model zoo command line: list, download, verify checkpoints; render docs.

Examples::

    python tools/model_zoo.py list
    python tools/model_zoo.py download stft_ucf_cls [--mirror URL] [--dest D]
    python tools/model_zoo.py verify stft_ucf_cls [--path FILE]
    python tools/model_zoo.py render --output model-zoo.md   # from the yml
    python tools/model_zoo.py render --check                 # CI: md in sync?

``--mirror`` (or env ``STFTBOX_MIRROR``) is a base URL holding the
checkpoint files under their zoo ``filename``. Downloads land in
``<cache>/checkpoints`` (``STFTBOX_HOME``, ``XDG_CACHE_HOME/stftbox`` or
``~/.cache/stftbox``). Exit status 0 on success, 1 on failure.
"""
import argparse
import os.path as osp
import sys
import urllib.request

try:
    import stftbox  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# no torch here: `list` and `render` print tables (torch only for `verify`)
from stftbox.fileio import (DownloadError, ModelZooError, get_checkpoint_dir,
                            get_entry, load_model_zoo,
                            render_model_zoo_markdown, sha256_file,
                            zoo_download_url)
from stftbox.fileio.download import download


def _fmt(value):
    return '-' if value is None else f'{value:.2f}'


def cmd_list(args, zoo):
    rows = [('name', 'dataset', 'features', 'HM', 'ZSL', 'status')]
    for e in zoo['models']:
        rows.append((e['name'], e['dataset'], e['features'], _fmt(e['HM']),
                     _fmt(e['ZSL']), e['status']))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_download(args, zoo):
    entry = get_entry(args.name, zoo)
    url = zoo_download_url(entry, args.mirror)
    dest = osp.join(args.dest or get_checkpoint_dir(), entry['filename'])
    if not entry['sha256']:
        print(f'warning: no SHA-256 known for {entry["name"]}; the file '
              'will not be verified', file=sys.stderr)
    path = download(url, dest, sha256=entry['sha256'],
                    progress=not args.no_progress, timeout=args.timeout,
                    expect='checkpoint', size=entry.get('size'))
    print(path)
    return 0


def cmd_verify(args, zoo):
    entry = get_entry(args.name, zoo)
    path = args.path or osp.join(get_checkpoint_dir(), entry['filename'])
    shipped = zoo_download_url(entry) if entry['url'] else ''
    if not args.path and not osp.isfile(path) and \
            shipped.startswith('file://'):
        # a checkpoint shipped in the repository (relative url)
        path = urllib.request.url2pathname(shipped[len('file://'):])
    if not osp.isfile(path) and not entry['url'] and not args.path:
        print(f'{entry["name"]}: no checkpoint to verify (status: '
              f'{entry["status"]})', file=sys.stderr)
        return 1
    if not osp.isfile(path):
        print(f'{entry["name"]}: {path} does not exist (download it with '
              f'`tools/model_zoo.py download {entry["name"]}`)',
              file=sys.stderr)
        return 1
    if entry['sha256']:
        actual = sha256_file(path)
        if actual != entry['sha256']:
            print(f'{entry["name"]}: SHA-256 mismatch for {path}: expected '
                  f'{entry["sha256"]}, got {actual}', file=sys.stderr)
            return 1
        print(f'{entry["name"]}: SHA-256 OK ({actual})')
    else:
        print(f'{entry["name"]}: no SHA-256 in the zoo (status '
              f'{entry["status"]}); checking loadability only')
    from stftbox.fileio import CheckpointError, safe_torch_load
    try:
        checkpoint = safe_torch_load(path)
    except CheckpointError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    n = len(checkpoint.get('state_dict', checkpoint)) \
        if isinstance(checkpoint, dict) else 0
    print(f'{entry["name"]}: {path} loads with weights_only=True '
          f'({n} tensors)')
    return 0


def cmd_render(args, zoo):
    text = render_model_zoo_markdown(zoo)
    if args.check:
        target = args.output or osp.join(
            osp.dirname(osp.dirname(osp.abspath(__file__))), 'model-zoo.md')
        with open(target, encoding='utf-8') as f:
            current = f.read()
        if current != text:
            print(f'{target} is out of date; run tools/model_zoo.py render '
                  f'--output {target}', file=sys.stderr)
            return 1
        print(f'{target} is up to date')
        return 0
    if args.output:
        from stftbox.fileio.atomic_io import atomic_write_text
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--zoo', help='model_zoo.yml to read (default: the '
                        "repository's / STFTBOX_MODEL_ZOO)")
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('list', help='list the models')
    p = sub.add_parser('download', help='download and verify a checkpoint')
    p.add_argument('name', help='model-zoo name (see `list`)')
    p.add_argument('--mirror', help='base URL hosting the checkpoint files '
                   '(default: $STFTBOX_MIRROR)')
    p.add_argument('--dest', help='folder (default <cache>/checkpoints)')
    p.add_argument('--timeout', type=float, default=60.0,
                   help='network timeout in seconds')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')
    p = sub.add_parser('verify', help='check SHA-256 and weights-only load')
    p.add_argument('name', help='model-zoo name (see `list`)')
    p.add_argument('--path', help='file to check (default: the cached one)')
    p = sub.add_parser('render', help='write model-zoo.md from the yml')
    p.add_argument('--output', help='file to write (default: stdout)')
    p.add_argument('--check', action='store_true',
                   help='only check that --output (default model-zoo.md) '
                   'is up to date')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    commands = dict(list=cmd_list, download=cmd_download, verify=cmd_verify,
                    render=cmd_render)
    try:
        zoo = load_model_zoo(args.zoo)
        return commands[args.command](args, zoo)
    except (ModelZooError, DownloadError, ValueError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
