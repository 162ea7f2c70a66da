# TCaF (the exact architecture, docs/baselines.md) at small widths on the
# bundled surrogate of UCF-GZSL, with the schedule and seed of
# configs/stft_demo.py (tests/test_configs.py checks that):
#   python tools/train.py configs/baselines/tcaf_demo.py
# The token width equals the 384-d text width because TCaF's reconstruction
# loss compares the text with the decoded class token.
_base_ = [
    './_models/tcaf.py', '../_base_/datasets/ucf_gzsl_surrogate.py',
    '../_base_/schedules/demo.py', '../_base_/peer_runtime.py'
]
model = dict(
    backbone=dict(
        audio_channels=128,
        video_channels=512,
        embed_dims=384,
        hidden_channels=64,
        time_embed_dims=16,
        num_layers=2,
        num_heads=4,
        head_dims=16,
        mlp_dims=64),
    head=dict(in_channels=384, text_channels=384, embed_dims=64,
              hidden_channels=64))
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=25))
default_hooks = dict(logger=dict(interval=5))
