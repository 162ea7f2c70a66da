"""Shared command line of the peer converters
(tools/model_converters/<peer>2stftbox.py)."""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from stftbox.models.converters import (PeerCheckpointError,
                                       convert_peer_checkpoint,
                                       load_peer_checkpoint,
                                       save_stftbox_checkpoint)

PEERS = dict(
    tcaf=dict(name='TCaF-GZSL', repo='ExplainableML/TCAF-GZSL',
              heads_help='attention heads (transformer_heads of the run; '
              'read from the checkpoint\'s hparams when it has them, '
              'required otherwise)'),
    avca=dict(name='AVCA-GZSL', repo='ExplainableML/AVCA-GZSL',
              heads_help='attention heads (default 3, hard-coded by the '
              'released AVCA)'),
    clipclap=dict(name='ClipClap-GZSL', repo='dkurzend/ClipClap-GZSL',
                  heads_help=None),
    avmst=dict(name='AVMST', repo='liwr-hit/ICME23_AVMST', heads_help=None,
               steps=True),
    mstr=dict(name='MSTR', repo='xia-zhe/MSTR', heads_help=None,
              steps=True))


def main(peer: str, argv: Optional[Sequence[str]] = None) -> int:
    info = PEERS[peer]
    parser = argparse.ArgumentParser(
        description=f'Convert a {info["name"]} checkpoint ({info["repo"]}; '
        'its own state_dict keys, bare or under "model") into an stftbox '
        'checkpoint for tools/test.py (state_dict + meta).')
    parser.add_argument('src', help='peer checkpoint (.pt)')
    parser.add_argument('dst', help='stftbox checkpoint to write (.pth)')
    if info['heads_help']:
        parser.add_argument('--num-heads', type=int,
                            help=info['heads_help'])
    if info.get('steps'):
        parser.add_argument('--time-steps', type=int,
                            help='spiking time steps T (not in the weights; '
                            "the checkpoint's hparams, else 10 as released)")
    parser.add_argument('--beta', type=float,
                        help='calibration beta to record in meta (the one '
                        'the peer chose on validation); tools/test.py uses '
                        'it unless given --beta')
    args = parser.parse_args(argv)
    try:
        obj = load_peer_checkpoint(args.src)
        state, model_cfg = convert_peer_checkpoint(
            obj, peer, num_heads=getattr(args, 'num_heads', None),
            source=args.src, time_steps=getattr(args, 'time_steps', None))
        meta = dict(converted_from=osp.basename(args.src),
                    peer=info['name'], peer_repo=info['repo'],
                    model_cfg=model_cfg)
        if isinstance(obj, dict):  # what the peer's file says about itself
            for key, name in (('peer_commit', 'peer_commit'),
                              ('epoch', 'peer_epoch'),
                              ('metric', 'peer_metric')):
                if isinstance(obj.get(key), (str, int, float)):
                    meta[name] = obj[key]
        if args.beta is not None:
            meta['calibration'] = dict(beta=float(args.beta))
        save_stftbox_checkpoint(state, meta, args.dst)
    except PeerCheckpointError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    n = sum(t.numel() for k, t in state.items()
            if not k.endswith(('running_mean', 'running_var',
                               'num_batches_tracked', 'fourier_randn')))
    print(f'wrote {args.dst}: {len(state)} tensors, {n:,} parameters')
    print(f'model config: {model_cfg}')
    return 0
