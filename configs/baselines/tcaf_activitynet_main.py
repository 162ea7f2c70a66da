# TCaF, exactly as released (docs/baselines.md), on ActivityNet-GZSL: SeLaVi
# audio and video (512-d each, 1 s a step) features, main split, with the
# peer's best configuration (TCAF-GZSL config/best/best_main/best_anet.yaml).
# Point data_root at the features
# (configs/_base_/datasets/activitynet_gzsl_main.py):
#   python tools/train.py configs/baselines/tcaf_activitynet_main.py
# [I] the peer pads every batch to a fixed 60 (train) / 300 (test)
# steps here (batch_seqlen: fixed); stftbox pads to the longest
# clip of the batch, which changes the padded frames that
# BatchNorm sees.
_base_ = [
    './_models/tcaf.py', '../_base_/datasets/activitynet_gzsl_main.py',
    '../_base_/schedules/peer_adam_50e.py', '../_base_/peer_runtime.py'
]
model = dict(
    backbone=dict(
        audio_channels=512,
        video_channels=512,
        hidden_channels=128,
        encoder_dropout=0.2,
        time_embed_dropout=0.2,
        num_layers=8,
        num_heads=3,
        head_dims=128,
        dropout=0.3,
        audio_step_seconds=1.0,
        video_step_seconds=1.0),
    head=dict(dropout=0.1, text_dropout=0.1))
optim_wrapper = dict(optimizer=dict(lr=7e-05))
# bs 64, 300 class-balanced batches an epoch; train crops of at most 60
# steps (random), evaluation crops of at most 300 (centre)
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=300),
    dataset=dict(max_steps=60, eval_max_steps=300))
val_dataloader = dict(dataset=dict(max_steps=60, eval_max_steps=300))
test_dataloader = dict(dataset=dict(max_steps=60, eval_max_steps=300))
