"""Model zoo command line: list, download, verify checkpoints; render docs.

Examples::

    python tools/model_zoo.py list
    python tools/model_zoo.py download stft_ucf_cls [--mirror URL] [--dest D]
    python tools/model_zoo.py verify stft_ucf_cls [--path FILE]
    python tools/model_zoo.py render --output model-zoo.md   # from the yml
    python tools/model_zoo.py render --check                 # CI: md in sync?
    python tools/model_zoo.py regenerate stft_demo_ucf_surrogate [--seeds ..]

``--mirror`` (or env ``STFTBOX_MIRROR``) is a base URL holding the
checkpoint files under their zoo ``filename``. Downloads land in
``<cache>/checkpoints`` (``STFTBOX_HOME``, ``XDG_CACHE_HOME/stftbox`` or
``~/.cache/stftbox``). Exit status 0 on success, 1 on failure.

``regenerate NAME`` reruns the documented protocol of an entry that has a
``reproduce`` record (``tools/run_protocol.py CONFIG --threads N`` in a
fresh work dir, and the same for each recorded seed) and rewrites
everything that comes from it: ``checkpoints/<name>.pth`` (weights and
meta: calibration, protocol record) and ``.safetensors`` (the same weights,
no pickle), the entry in its metafile (test S/U/HM/ZSL, validation scores,
beta, spread over seeds, parameters, SHA-256s, sizes, environment),
``model-zoo.md``, every ``<!--zoo:NAME:KEY-->`` number in the docs and the
``<!--zoo-output:NAME:KEY-->`` command outputs (docs/inference.md). Run it
in the same commit as any change of the model's numerics; CI
(tests/test_tools/test_zoo_reproduce.py) fails until it is run.
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import urllib.parse
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


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: ``<!--zoo-output:NAME:KEY-->`` blocks: a fenced block holding the
#: output of ``DOC_OUTPUTS[KEY]`` run for the entry NAME
DOC_OUTPUT = re.compile(r'(<!--zoo-output:([\w.\-]+):(\w+)-->\n```\n)'
                        r'(.*?)(```\n<!--/zoo-output-->)', re.S)
#: the commands of the ``zoo-output`` blocks (python scripts and their
#: arguments; ``{DATA}`` the config's test data root, ``{CONFIG}`` the
#: entry's config, ``{CKPT}`` its .pth, relative to the repository root)
DOC_OUTPUTS = {
    'zero_shot_demo': [
        'demo/zero_shot_demo.py',
        '{DATA}/features/surrogate_temporal/audio/stage_2_test_unseen/'
        'PlayingSitar.pkl', '{CONFIG}', '{CKPT}',
        '--classes', 'Playing Sitar,Brushing Teeth,Surfing', '--clips', '1'],
}


#: mmengine's log lines (e.g. the STFTBOX_HOME note of the config loader):
#: not part of a command's output the docs quote
_LOG_LINE = re.compile(r'^\d\d/\d\d \d\d:\d\d:\d\d - \w+ - [A-Z]+ - ')


def quoted_output(stdout):
    """A command's stdout as the docs quote it: without log lines, ending
    in one newline."""
    lines = [ln for ln in stdout.splitlines() if not _LOG_LINE.match(ln)]
    return '\n'.join(lines).rstrip('\n') + '\n'


def _write_text(path, text):
    """Write ``text`` atomically (:func:`stftbox.fileio.atomic_write_text`:
    temporary file, fsync, rename; removed on failure)."""
    from stftbox.fileio import atomic_write_text
    atomic_write_text(path, text)


def _protocol_run(cfg, work_dir, threads, seed=None):
    import copy

    from stftbox.engine import run_protocol
    cfg = copy.deepcopy(cfg)
    if seed is not None:
        cfg.randomness.seed = int(seed)
    summary = run_protocol(cfg, work_dir, threads=threads)
    # protocol.json records the checkpoint relative to the work dir
    summary['checkpoint'] = osp.join(work_dir, summary['checkpoint'])
    return summary


def _scores(d):
    return {k: round(float(d[k]), 2) for k in ('S', 'U', 'HM', 'ZSL')}


def _write_checkpoints(summary, entry):
    """checkpoints/<stem>.pth and .safetensors from the protocol's final
    checkpoint; returns (pth path, safetensors path, state_dict)."""
    from stftbox.fileio import (atomic_torch_save, safe_torch_load,
                                save_safetensors, state_dict_sha256)
    ckpt = safe_torch_load(summary['checkpoint'])
    assert state_dict_sha256(ckpt['state_dict']) == summary['weights_sha256']
    meta = dict(ckpt.get('meta') or {}, protocol=dict(
        stage1=summary['stage1'], epochs=summary['epochs'],
        beta=summary['beta'], test=summary['test'],
        environment=summary['environment']))
    # stage 2 has no validation: record the protocol's beta for tools/test.py
    meta['calibration'] = {k: v for k, v in summary['stage1'].items()
                           if k not in ('config_sha256', 'environment')}
    meta['calibration']['beta'] = summary['beta']
    for key in ('cfg', 'time', 'experiment_name'):
        meta.pop(key, None)  # run-specific, not part of the model
    os.makedirs(osp.join(REPO, 'checkpoints'), exist_ok=True)
    stem = osp.splitext(entry['filename'])[0]
    pth = osp.join(REPO, 'checkpoints', entry['filename'])
    atomic_torch_save(dict(state_dict=ckpt['state_dict'], meta=meta), pth)
    st = osp.join(REPO, 'checkpoints', stem + '.safetensors')
    save_safetensors(ckpt['state_dict'], st, meta)
    return pth, st, ckpt['state_dict']


def _update_docs(zoo, entry, log):
    """Rewrite the zoo numbers and command outputs in the docs."""
    from stftbox.fileio.model_zoo import DOC_FILES, render_doc_numbers
    from stftbox.engine import load_config
    cfg = load_config(osp.join(REPO, entry['config']))
    subst = dict(DATA=osp.expanduser(cfg.test_dataloader.dataset.data_root),
                 CONFIG=entry['config'], CKPT=f"checkpoints/"
                 f"{entry['filename']}")
    outputs = {}

    def output(m):
        name, key = m.group(2), m.group(3)
        if name != entry['name']:
            return m.group(0)
        if key not in DOC_OUTPUTS:
            raise KeyError(f'unknown zoo-output {key!r}')
        if key not in outputs:
            cmd = [sys.executable] + [a.format(**subst)
                                      for a in DOC_OUTPUTS[key]]
            env = dict(os.environ, PYTHONPATH=REPO + os.pathsep +
                       os.environ.get('PYTHONPATH', ''))
            res = subprocess.run(cmd, cwd=REPO, env=env, text=True,
                                 capture_output=True, timeout=600)
            if res.returncode:
                raise RuntimeError(f'{" ".join(cmd)} failed:\n'
                                   f'{res.stderr[-2000:]}')
            outputs[key] = quoted_output(res.stdout)
        return m.group(1) + outputs[key] + m.group(5)

    for rel in DOC_FILES:
        path = osp.join(REPO, rel)
        if not osp.isfile(path):
            continue
        with open(path, encoding='utf-8') as f:
            text = f.read()
        new = DOC_OUTPUT.sub(output, render_doc_numbers(text, zoo, rel))
        if new != text:
            _write_text(path, new)
            log(f'updated {rel}')


def cmd_regenerate(args, zoo):
    import statistics
    import tempfile

    import torch

    from stftbox.apis import register_all_modules
    from stftbox.engine import check_data, load_config
    from stftbox.engine.run_env import DEPENDS_ON
    from stftbox.fileio import save_zoo_entry
    entry = get_entry(args.name, zoo)
    if not entry.get('metafile'):
        print(f'error: {entry["name"]} was not read from a metafile',
              file=sys.stderr)
        return 1
    if args.docs_only:
        _write_text(osp.join(REPO, 'model-zoo.md'),
                    render_model_zoo_markdown(zoo))
        _update_docs(zoo, entry, print)
        return 0
    old = entry.get('reproduce') or {}
    threads = args.threads or old.get('threads') or 2
    seeds = args.seeds if args.seeds is not None else \
        list((entry.get('seeds') or {}).get('seeds') or [])
    os.makedirs(osp.join(REPO, 'work_dirs'), exist_ok=True)
    work_root = args.work_dir or tempfile.mkdtemp(
        prefix=f'zoo_{entry["name"]}_', dir=osp.join(REPO, 'work_dirs'))
    print(f'regenerating {entry["name"]} in {work_root} ({threads} torch '
          f'threads; seeds {seeds or "none"})', flush=True)
    register_all_modules()
    config = entry['config']
    cfg = load_config(osp.join(REPO, config))
    check_data(cfg, loaders=('train_dataloader', 'val_dataloader',
                             'test_dataloader'))
    base_seed = cfg.randomness.seed
    saved_threads = torch.get_num_threads()
    try:
        summary = _protocol_run(cfg, osp.join(work_root, 'run'), threads)
        runs = {}
        for seed in seeds:
            runs[seed] = summary if seed == base_seed else _protocol_run(
                cfg, osp.join(work_root, f'seed_{seed}'), threads, seed)
    finally:
        torch.set_num_threads(saved_threads)

    pth, st, state = _write_checkpoints(summary, entry)
    env = summary['environment']
    stem = osp.splitext(entry['filename'])[0]
    entry.update(_scores(summary['test']))
    n_params = int(sum(v.numel() for v in state.values()))
    entry.update(
        Parameters=n_params, params=round(n_params / 1e6, 3),
        sha256=sha256_file(pth), size=os.path.getsize(pth),
        status='released', beta=round(float(summary['beta']), 4),
        safetensors=dict(filename=stem + '.safetensors',
                         url=f'checkpoints/{stem}.safetensors',
                         sha256=sha256_file(st), size=os.path.getsize(st)),
        validation=dict(_scores(summary['stage1']),
                        epoch=int(summary['stage1']['epoch']),
                        beta=round(float(summary['stage1']['beta']), 4)),
        reproduce=dict(
            command=f'python tools/run_protocol.py {config} '
            f'--threads {threads}',
            regenerate=f'python tools/model_zoo.py regenerate '
            f'{entry["name"]}',
            seed=env['seed'], threads=env['threads'],
            num_workers=env['num_workers'], machine=env['machine'],
            versions={k: env[k] for k in ('python', 'torch', 'mmengine',
                                          'spikingjelly', 'numpy')},
            weights_sha256=summary['weights_sha256'],
            depends_on=DEPENDS_ON))
    if not entry.get('url') or not urllib.parse.urlsplit(
            entry['url']).scheme:
        entry['url'] = f'checkpoints/{entry["filename"]}'
    else:
        print(f'note: upload {pth} and {st} to {entry["url"]} (and the '
              'mirror)')
    if runs:
        spread = {'seeds': [int(s) for s in runs]}
        for k in ('S', 'U', 'HM', 'ZSL'):
            values = [float(r['test'][k]) for r in runs.values()]
            spread[k] = [round(statistics.mean(values), 2),
                         round(statistics.stdev(values), 2)
                         if len(values) > 1 else 0.0]
        spread['runs'] = [dict(seed=int(s), beta=round(float(r['beta']), 4),
                               **_scores(r['test']))
                          for s, r in runs.items()]
        entry['seeds'] = spread
    else:
        entry.pop('seeds', None)
    save_zoo_entry(entry)
    zoo = load_model_zoo(args.zoo)
    _write_text(osp.join(REPO, 'model-zoo.md'),
                render_model_zoo_markdown(zoo))
    _update_docs(zoo, get_entry(entry['name'], zoo), print)
    print(f'{entry["name"]}: test {_fmt_scores(entry)}; validation '
          f'{_fmt_scores(entry["validation"])} (epoch '
          f'{entry["validation"]["epoch"]}, beta {entry["beta"]:.2f}); '
          f'{osp.relpath(pth, REPO)} sha256 {entry["sha256"]}; '
          f'{osp.relpath(st, REPO)}')
    if runs:
        print('over seeds ' + ', '.join(map(str, entry['seeds']['seeds'])) +
              ': ' + ', '.join(f'{k} {m:.2f} ± {sd:.2f}' for k, (m, sd) in
                               ((k, entry['seeds'][k]) for k in
                                ('S', 'U', 'HM', 'ZSL'))))
    return 0


def _fmt_scores(d):
    return ' / '.join(f'{d[k]:.2f}' for k in ('S', 'U', 'HM', 'ZSL'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--zoo', help='model-index.yml / metafile to read '
                        "(default: the repository's / STFTBOX_MODEL_ZOO)")
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
    p = sub.add_parser('regenerate', help='rerun the documented protocol of '
                       'an entry and rewrite its checkpoint, metafile entry, '
                       'model-zoo.md and the numbers the docs quote')
    p.add_argument('name', help='model-zoo name with a reproduce record')
    p.add_argument('--threads', type=int, help='torch threads (default: '
                   'the recorded ones, else 2)')
    p.add_argument('--seeds', type=int, nargs='*', help='seeds of the '
                   'spread over seeds (default: the recorded ones; none: '
                   'drop the record)')
    p.add_argument('--work-dir', help='fresh folder for the runs (default: '
                   'a new work_dirs/zoo_<name>_*); an interrupted '
                   'regenerate continues in its folder')
    p.add_argument('--docs-only', action='store_true', help='no runs: '
                   'rewrite model-zoo.md and the docs from the zoo as it is')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    commands = dict(list=cmd_list, download=cmd_download, verify=cmd_verify,
                    render=cmd_render, regenerate=cmd_regenerate)
    try:
        zoo = load_model_zoo(args.zoo)
        return commands[args.command](args, zoo)
    except (ModelZooError, DownloadError, ValueError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
