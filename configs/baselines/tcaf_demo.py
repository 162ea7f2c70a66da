# TCaF-style baseline on the bundled surrogate of UCF-GZSL, with the same
# widths, schedule and seed as configs/stft_demo.py (tests/test_configs.py
# checks that):  python tools/train.py configs/baselines/tcaf_demo.py
_base_ = [
    './_models/tcaf.py', '../_base_/datasets/ucf_gzsl_surrogate.py',
    '../_base_/schedules/demo.py', '../_base_/default_runtime.py'
]
embed_dims = 64
model = dict(
    backbone=dict(
        audio_channels=128,
        video_channels=512,
        embed_dims=embed_dims,
        out_channels=embed_dims,
        transformer=dict(num_heads=4, num_layers=1)),
    head=dict(in_channels=embed_dims, text_channels=384, embed_dims=64))
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=25))
default_hooks = dict(logger=dict(interval=5))
