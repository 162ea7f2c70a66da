"""Produce the model-zoo checkpoint of the bundled-data config.

    python tools/analysis_tools/make_demo_checkpoint.py \
        [--config configs/stft_demo.py] [--name stft_demo_ucf_surrogate] \
        [--work-dir work_dirs/zoo_<name>] [--threads N] [--resume]

Runs the two-stage protocol with exactly the code path of the documented
command ``python tools/run_protocol.py CONFIG [--threads N]``
(:func:`stftbox.engine.run_protocol`) in a *fresh* work dir (an existing one
is refused: its stage-1/2 checkpoints may come from older code), keeps only
the stage-2 weights and meta (calibration beta, epochs) of the final
checkpoint, writes it to checkpoints/<name>.pth, and records in
model_zoo.yml its test S, U, HM, ZSL, parameter count, SHA-256 and how to
reproduce it (command, seed, library versions, torch threads, num_workers,
weights digest); then re-renders model-zoo.md. The numbers are for the
*surrogate* (synthetic) data; they depend on the thread count and on
num_workers, which the entry records.
"""
import argparse
import os
import os.path as osp
import sys

import torch
import yaml

from stftbox.engine import load_config, run_protocol
from stftbox.apis import register_all_modules
from stftbox.engine.run_env import DEPENDS_ON
from stftbox.fileio import (render_model_zoo_markdown, safe_torch_load,
                            sha256_file, state_dict_sha256)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def reproduce_record(config, summary, threads):
    """The ``reproduce`` mapping of a zoo entry from a protocol summary."""
    env = summary['environment']
    command = f'python tools/run_protocol.py {config}'
    if threads:
        command += f' --threads {threads}'
    return dict(
        command=command,
        regenerate='python tools/analysis_tools/make_demo_checkpoint.py' +
        (f' --threads {threads}' if threads else ''),
        seed=env['seed'], threads=env['threads'],
        num_workers=env['num_workers'], machine=env['machine'],
        versions={k: env[k] for k in ('python', 'torch', 'mmengine',
                                      'spikingjelly', 'numpy')},
        weights_sha256=summary['weights_sha256'],
        depends_on=DEPENDS_ON)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/stft_demo.py',
                        help='config to run the protocol on (default '
                        'configs/stft_demo.py)')
    parser.add_argument('--name', default='stft_demo_ucf_surrogate',
                        help='model-zoo name; the file is checkpoints/'
                        '<name>.pth')
    parser.add_argument('--work-dir', help='protocol work dir (default '
                        'work_dirs/zoo_<name>); must not exist')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads (default 2, the CI machine)')
    parser.add_argument('--resume', action='store_true', help='continue an '
                        'interrupted run of this script in --work-dir')
    args = parser.parse_args()
    work_dir = args.work_dir or osp.join('work_dirs', f'zoo_{args.name}')
    if osp.exists(work_dir) and not args.resume:
        sys.exit(f'error: {work_dir} exists; its checkpoints may come from '
                 'older code. Delete it, pass a new --work-dir, or --resume '
                 'if this script made it with the current code')
    register_all_modules()
    summary = run_protocol(load_config(args.config), work_dir,
                           threads=args.threads)

    ckpt = safe_torch_load(osp.join(work_dir, summary['checkpoint']))
    assert state_dict_sha256(ckpt['state_dict']) == summary['weights_sha256']
    meta = dict(ckpt.get('meta') or {}, protocol=dict(
        stage1=summary['stage1'], epochs=summary['epochs'],
        beta=summary['beta'], test=summary['test'],
        environment=summary['environment']))
    # stage 2 has no validation: record the protocol's beta for tools/test.py
    meta['calibration'] = {k: v for k, v in summary['stage1'].items()
                           if k not in ('config_sha256', 'environment')}
    meta['calibration']['beta'] = summary['beta']
    meta.pop('cfg', None)
    os.makedirs(osp.join(REPO, 'checkpoints'), exist_ok=True)
    rel = f'checkpoints/{args.name}.pth'
    out = osp.join(REPO, rel)
    torch.save(dict(state_dict=ckpt['state_dict'], meta=meta), out + '.tmp')
    os.replace(out + '.tmp', out)

    zoo_file = osp.join(REPO, 'model_zoo.yml')
    with open(zoo_file) as f:
        text = f.read()
    zoo = yaml.safe_load(text)
    entry = next(e for e in zoo['models'] if e['name'] == args.name)
    params = sum(v.numel() for v in ckpt['state_dict'].values())
    entry.update({k: round(float(v), 2) for k, v in summary['test'].items()})
    entry.update(config=args.config, params=round(params / 1e6, 3), url=rel,
                 sha256=sha256_file(out), size=os.path.getsize(out),
                 status='released',
                 reproduce=reproduce_record(args.config, summary,
                                            args.threads))
    header = ''.join(ln for ln in text.splitlines(True)
                     if ln.startswith('#'))
    with open(zoo_file + '.tmp', 'w') as f:
        f.write(header + yaml.safe_dump(zoo, sort_keys=False))
    os.replace(zoo_file + '.tmp', zoo_file)
    with open(osp.join(REPO, 'model-zoo.md'), 'w') as f:
        f.write(render_model_zoo_markdown(zoo))
    print(f'{rel}: sha256 {entry["sha256"]}, test {summary["test"]}')


if __name__ == '__main__':
    main()
