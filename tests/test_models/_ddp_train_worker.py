"""Worker of test_ddp_configs.py, run by torchrun with 2 CPU processes
(gloo): trains each config given on the command line for a few iterations
under ``DistributedDataParallel`` without ``find_unused_parameters`` (as
mmengine's default wrapper does) and prints one line per config on rank 0.

A parameter without gradient makes the second iteration fail with
"Expected to have finished reduction in the prior iteration".
"""
import os.path as osp
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config
from torch.nn.parallel import DistributedDataParallel

from stftbox.apis import register_all_modules
from stftbox.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _batch(cfg, rank, b=4):
    g = torch.Generator().manual_seed(rank)
    backbone = cfg.model.backbone
    am = torch.zeros(b, 4, dtype=torch.bool)
    am[0, 2:] = True
    return dict(audio=torch.randn(b, 4, backbone.audio_channels, generator=g),
                video=torch.randn(b, 5, backbone.video_channels, generator=g),
                audio_padding_mask=am,
                video_padding_mask=torch.zeros(b, 5, dtype=torch.bool))


def main(configs, iters=3):
    torch.set_num_threads(1)
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    register_all_modules()
    for config in configs:
        cfg = Config.fromfile(osp.join(REPO, config))
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).train()
        model.set_class_embeddings(
            torch.randn(5, cfg.model.head.get('text_channels', 300)),
            train_class_ids=[0, 1, 3])
        ddp = DistributedDataParallel(model, find_unused_parameters=False)
        optim = torch.optim.Adam(ddp.parameters(), lr=1e-3)
        labels = torch.tensor([0, 1, 3, 0])
        for _ in range(iters):
            losses = ddp(_batch(cfg, rank), dict(labels=labels), mode='loss')
            optim.zero_grad()
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            optim.step()
        # replicas stay identical: gradients were all-reduced every step
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        other = flat.clone()
        dist.broadcast(other, src=0)
        same = bool(torch.equal(flat, other))
        if rank == 0:
            print(f'DDP-OK {config} iters={iters} replicas_equal={same}',
                  flush=True)
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1:])
