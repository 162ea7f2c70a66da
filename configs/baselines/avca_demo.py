# AVCA (the exact architecture, docs/baselines.md) at small widths on the
# bundled surrogate of UCF-GZSL (its temporal features averaged over time),
# with the schedule and seed of configs/stft_demo.py (tests/test_configs.py
# checks that):  python tools/train.py configs/baselines/avca_demo.py
_base_ = [
    './_models/avca.py', '../_base_/datasets/ucf_gzsl_surrogate.py',
    '../_base_/schedules/demo.py', '../_base_/peer_runtime.py'
]
model = dict(
    backbone=dict(audio_channels=128, video_channels=512, embed_dims=96,
                  hidden_channels=64, num_heads=3, mlp_dims=64),
    head=dict(in_channels=96, text_channels=384, embed_dims=64,
              hidden_channels=64))
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=25))
default_hooks = dict(logger=dict(interval=5))
