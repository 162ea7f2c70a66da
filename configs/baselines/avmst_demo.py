# AVMST-style baseline (IF-neuron SNN branch + transformer branch, concat
# fusion) on the bundled surrogate of UCF-GZSL, with the same widths,
# schedule and seed as configs/stft_demo.py (tests/test_configs.py checks
# that):  python tools/train.py configs/baselines/avmst_demo.py
_base_ = [
    './_models/avmst.py', '../_base_/datasets/ucf_gzsl_surrogate.py',
    '../_base_/schedules/demo.py', '../_base_/default_runtime.py'
]
embed_dims = 64
time_steps = 4
model = dict(
    backbone=dict(
        audio_channels=128,
        video_channels=512,
        embed_dims=embed_dims,
        out_channels=embed_dims,
        snn_branch=dict(time_steps=time_steps, num_blocks=2),
        transformer_branch=dict(cross_modal=dict(num_heads=4, num_layers=1))),
    head=dict(in_channels=embed_dims, text_channels=384, embed_dims=64))
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=25))
default_hooks = dict(logger=dict(interval=5))
