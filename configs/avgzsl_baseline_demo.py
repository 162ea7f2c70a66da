# The simple audio-visual GZSL baseline (temporal mean + MLP) on the bundled
# surrogate data: python tools/train.py configs/avgzsl_baseline_demo.py
_base_ = [
    './_base_/models/mean_pool_baseline.py',
    './_base_/datasets/ucf_gzsl_surrogate.py', './_base_/schedules/demo.py',
    './_base_/default_runtime.py'
]
model = dict(
    backbone=dict(audio_channels=128, video_channels=512),
    head=dict(text_channels=384))
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=25))
default_hooks = dict(logger=dict(interval=5))
