"""Export the SNN branch of a trained model to NIR.

    python tools/deployment/export_nir.py CONFIG CHECKPOINT OUT.nir
        [--dt 1e-4] [--cfg-options k=v ...]

Writes the NIR graph (HDF5, ``nir.write``) of the model's SNN branch: per
token, ``input [C] -> (Affine -> LIF | IF) per block -> output [D]``, run for
``T`` steps with the same input (direct encoding); see
:mod:`stftbox.deployment.nir_export`. Only an SNN branch whose blocks NIR
supports is exported (static-threshold LIF / IF / PLIF with a hard reset;
linear or pointwise Conv1d layers; no LayerNorm, no pooling), e.g.
``configs/ablations/stft_demo_nir.py``; for any other config (the default
STFT) the tool stops with one line naming the parts without a NIR
primitive, before the checkpoint is read. The parts outside the SNN branch
(encoders, attention, fusion, head) and the branch's readout are never in
the graph; the tool prints them. CHECKPOINT may be a file, URL or zoo name
(as ``tools/test.py``). Read the graph back with spikingjelly:
``nir_exchange.import_from_nir(OUT, dt=..., step_mode='m')``.
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Export the SNN branch of a model to NIR')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint',
                        help='checkpoint file, http(s) URL or model-zoo name')
    parser.add_argument('out', help='NIR file to write (HDF5, e.g. snn.nir)')
    parser.add_argument('--dt', type=float, default=1e-4,
                        help='simulation step (s) of the NIR time constants '
                        '(default 1e-4, spikingjelly\'s); import with the '
                        'same value')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    args = parser.parse_args(argv)
    if args.dt <= 0:
        parser.error(f'--dt must be > 0, got {args.dt}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import nir

    from stftbox.apis import init_model, register_all_modules
    from stftbox.deployment import (NIRExportError, find_snn_branch,
                                    nir_blockers, parts_outside_the_graph,
                                    snn_branch_to_nir)
    from stftbox.engine import load_config
    from stftbox.registry import MODELS, unregistered_type_message
    from stftbox.fileio import CheckpointError, DownloadError, ModelZooError
    register_all_modules()
    if not osp.isfile(args.config):
        sys.exit(f'error: config file not found: {args.config}')
    cfg = load_config(args.config, args.cfg_options)
    try:
        model = MODELS.build(cfg.model)
        name, branch = find_snn_branch(model)
        blockers = nir_blockers(branch)
        if blockers:   # before the checkpoint is read
            outside = [p for p in parts_outside_the_graph(model, name)
                       if ':' in p]
            raise NIRExportError(
                f'{args.config}: cannot export the SNN branch to NIR, no NIR '
                'primitive for: ' + '; '.join(blockers) +
                ('; outside the SNN branch (never exported): '
                 + ', '.join(outside) if outside else ''))
        model = init_model(cfg, args.checkpoint)
        name, branch = find_snn_branch(model)
        graph = snn_branch_to_nir(branch, dt=args.dt)
    except (NIRExportError, CheckpointError, DownloadError, ModelZooError,
            FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    except KeyError as err:   # a type no registry knows (plugin not imported)
        line = unregistered_type_message(err)
        if line is None:
            raise
        sys.exit(f'error: {line}')
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + '.tmp'
    nir.write(tmp, graph)
    os.replace(tmp, args.out)   # never a half-written file
    chain = ' -> '.join(type(graph.nodes[n]).__name__ for n in _order(graph))
    print(f'wrote {args.out}: {name or "model"} ({chain}), '
          f"T = {graph.metadata['time_steps']} steps, dt = {args.dt:g} s")
    rest = parts_outside_the_graph(model, name)
    print('not in the graph (computed on the host): the readout ('
          f"{graph.metadata['readout'].replace(' (not in the graph)', '')})"
          + (', ' + ', '.join(rest) if rest else ''))


def _order(graph):
    """Node names from input to output (the graph is a chain)."""
    nxt = dict(graph.edges)
    node = next(n for n, v in graph.nodes.items()
                if type(v).__name__ == 'Input')
    order = [node]
    while node in nxt:
        node = nxt[node]
        order.append(node)
    return order


if __name__ == '__main__':
    main()
