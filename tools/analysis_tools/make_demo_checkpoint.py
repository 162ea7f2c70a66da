"""Produce the model-zoo checkpoint of the bundled-data config.

    python tools/analysis_tools/make_demo_checkpoint.py \
        [--config configs/stft_demo.py] [--name stft_demo_ucf_surrogate] \
        [--work-dir work_dirs/zoo_stft_demo]

Runs the two-stage protocol (tools/run_protocol.py) on the config, keeps
only the stage-2 weights and meta (calibration beta, epochs) of the final
checkpoint, writes it to checkpoints/<name>.pth, and records its test S, U,
HM, ZSL, parameter count and SHA-256 in model_zoo.yml; then re-renders
model-zoo.md. The numbers are for the *surrogate* (synthetic) data.
"""
import argparse
import os
import os.path as osp

import torch
import yaml

from stftbox.apis import load_config, register_all_modules, run_protocol
from stftbox.utils import render_model_zoo_markdown, safe_torch_load, \
    sha256_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/stft_demo.py',
                        help='config to run the protocol on (default '
                        'configs/stft_demo.py)')
    parser.add_argument('--name', default='stft_demo_ucf_surrogate',
                        help='model-zoo name; the file is checkpoints/'
                        '<name>.pth')
    parser.add_argument('--work-dir', default='work_dirs/zoo_stft_demo',
                        help='protocol work dir (default '
                        'work_dirs/zoo_stft_demo)')
    args = parser.parse_args()
    register_all_modules()
    summary = run_protocol(load_config(args.config), args.work_dir)

    ckpt = safe_torch_load(summary['checkpoint'])
    meta = dict(ckpt.get('meta') or {}, protocol=dict(
        stage1=summary['stage1'], epochs=summary['epochs'],
        beta=summary['beta'], test=summary['test']))
    # stage 2 has no validation: record the protocol's beta for tools/test.py
    meta['calibration'] = dict(summary['stage1'], beta=summary['beta'])
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
                 sha256=sha256_file(out), status='released')
    header = ''.join(ln for ln in text.splitlines(True)
                     if ln.startswith('#'))
    with open(zoo_file, 'w') as f:
        f.write(header + yaml.safe_dump(zoo, sort_keys=False))
    with open(osp.join(REPO, 'model-zoo.md'), 'w') as f:
        f.write(render_model_zoo_markdown(zoo))
    print(f'{rel}: sha256 {entry["sha256"]}, test {summary["test"]}')


if __name__ == '__main__':
    main()
