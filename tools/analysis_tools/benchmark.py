"""Speed, memory and energy figures of a model config on random inputs.

    python tools/analysis_tools/benchmark.py CONFIG [--batch-size B]
        [--iters N] [--audio-steps La] [--video-steps Lv] [--classes C]
        [--threads N] [--device cpu]

Prints: parameters, training clips/s (forward + backward + Adam step) and
inference clips/s at the config's batch size, peak resident memory, firing
rate per spiking layer, and an energy estimate per clip: synaptic operations
(SOPs, inputs that are binary spikes) x 0.9 pJ plus multiply-accumulates
(MACs, float inputs) x 4.6 pJ, counted on every nn.Linear / nn.Conv1d
(45 nm figures, docs/method.md "Energy figures"). Matrix products inside
attention are not counted. Random tensors of the config's widths are used,
so no data is needed.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
from mmengine.config import DictAction

from stftbox.apis import load_config, register_all_modules
from stftbox.registry import MODELS

PJ_PER_SOP, PJ_PER_MAC = 0.9, 4.6


class OpCounter:
    """Counts SOPs and MACs of Linear / Conv1d layers with forward hooks.

    A layer whose input holds only 0 and 1 is a spiking layer: it performs
    one accumulate per non-zero input per output it feeds (SOPs = spikes x
    fan-out). Any other input costs ``in x out`` MACs per position.
    """

    def __init__(self, model: nn.Module):
        self.sops = self.macs = 0
        self.handles = [m.register_forward_hook(self._hook)
                        for m in model.modules()
                        if isinstance(m, (nn.Linear, nn.Conv1d))]

    def _hook(self, module, args, output):
        x = args[0]
        if isinstance(module, nn.Linear):
            fan_out, positions = module.out_features, x.numel() // x.shape[-1]
            dense = positions * module.in_features * module.out_features
        else:
            fan_out = module.out_channels * module.kernel_size[0] // \
                module.groups
            dense = output.numel() * module.in_channels // module.groups * \
                module.kernel_size[0]
        if bool(((x == 0) | (x == 1)).all()):
            self.sops += int((x != 0).sum()) * fan_out
        else:
            self.macs += dense

    def remove(self):
        for h in self.handles:
            h.remove()


def find_width(cfg, key):
    """First value of ``key`` found anywhere in the model config."""
    if isinstance(cfg, dict):
        if key in cfg:
            return cfg[key]
        cfg = list(cfg.values())
    if isinstance(cfg, list):
        for v in cfg:
            w = find_width(v, key)
            if w is not None:
                return w
    return None


def random_batch(cfg, batch, la, lv, device):
    a = find_width(cfg.model, 'audio_channels')
    v = find_width(cfg.model, 'video_channels')
    return dict(audio=torch.randn(batch, la, a, device=device),
                video=torch.randn(batch, lv, v, device=device),
                audio_padding_mask=torch.zeros(batch, la, dtype=torch.bool,
                                               device=device),
                video_padding_mask=torch.zeros(batch, lv, dtype=torch.bool,
                                               device=device))


def clips_per_second(fn, batch, iters):
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return batch * iters / (time.perf_counter() - start)


def firing_rates_of(model):
    return {name: float(m.firing_rate) for name, m in model.named_modules()
            if getattr(m, 'firing_rate', None) is not None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('--batch-size', type=int,
                        help="default: the config's train batch size")
    parser.add_argument('--iters', type=int, default=5,
                        help='timed iterations (default 5)')
    parser.add_argument('--audio-steps', type=int, default=60,
                        help='audio steps T_a per clip (default 60)')
    parser.add_argument('--video-steps', type=int, default=60,
                        help='video steps T_v per clip (default 60)')
    parser.add_argument('--classes', type=int, default=100,
                        help='number of class embeddings')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--device', default='cpu',
                        help='torch device, e.g. cpu or cuda (default cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'model.backbone.embed_dims=128')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    batch = args.batch_size or cfg.train_dataloader.batch_size
    device = torch.device(args.device)
    model = MODELS.build(cfg.model).to(device)
    text = find_width(cfg.model, 'text_channels')
    model.set_class_embeddings(torch.randn(args.classes, text, device=device),
                               train_class_ids=range(args.classes))
    inputs = random_batch(cfg, batch, args.audio_steps, args.video_steps,
                          device)
    labels = dict(labels=torch.randint(args.classes, (batch, ),
                                       device=device))
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        losses = model(inputs, labels, mode='loss')
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()

    def infer_step():
        with torch.no_grad():
            model(inputs, labels, mode='predict')

    params = sum(p.numel() for p in model.parameters())
    model.train()
    train_cps = clips_per_second(train_step, batch, args.iters)
    model.eval()
    infer_cps = clips_per_second(infer_step, batch, args.iters)
    counter = OpCounter(model)
    infer_step()
    counter.remove()
    rates = firing_rates_of(model)
    energy_uj = (counter.sops * PJ_PER_SOP + counter.macs * PJ_PER_MAC) \
        / batch / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f'config                : {args.config}')
    print(f'device / threads      : {device} / {torch.get_num_threads()}')
    print(f'batch, steps (a, v)   : {batch}, ({args.audio_steps}, '
          f'{args.video_steps})')
    print(f'parameters            : {params:,} ({params / 1e6:.2f} M)')
    print(f'training clips/s      : {train_cps:.1f}')
    print(f'inference clips/s     : {infer_cps:.1f}')
    print(f'peak resident memory  : {peak_mb:.0f} MiB')
    print(f'SOPs per clip         : {counter.sops / batch / 1e6:.3f} M')
    print(f'MACs per clip         : {counter.macs / batch / 1e6:.3f} M')
    print(f'energy per clip       : {energy_uj:.2f} uJ '
          f'(SOPs x {PJ_PER_SOP} pJ + MACs x {PJ_PER_MAC} pJ)')
    print('firing rate per spiking layer:')
    for name, rate in rates.items():
        print(f'  {name:<50} {rate:.4f}')
    if not rates:
        print('  (no spiking layers)')


if __name__ == '__main__':
    main()
