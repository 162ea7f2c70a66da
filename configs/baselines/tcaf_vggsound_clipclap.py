# TCaF, as released (docs/baselines.md), on VGGSound-GZSL with CLIP/CLAP
# features built from the raw videos (configs/_base_/datasets/
# vggsound_gzsl_clipclap.py), temporal layout (a frame and a 1 s audio window a
# second). Hyper-parameters: the peer's 512-d SeLaVi settings
# (tcaf_vggsound_main.py); class names 1024-d (CLIP+CLAP text), so the
# joint width (embed_dims, the text it is decoded to) is 1024.
#   python tools/train.py configs/baselines/tcaf_vggsound_clipclap.py
_base_ = [
    './_models/tcaf.py', '../_base_/datasets/vggsound_gzsl_clipclap.py',
    '../_base_/schedules/peer_adam_50e.py', '../_base_/peer_runtime.py'
]
model = dict(
    backbone=dict(
        audio_channels=512,
        video_channels=512,
        # the clip embedding is decoded back to the class text (1024-d)
        embed_dims=1024,
        hidden_channels=128,
        encoder_dropout=0.2,
        time_embed_dropout=0.2,
        num_layers=8,
        num_heads=6,
        head_dims=128,
        dropout=0.5,
        audio_step_seconds=1.0,
        video_step_seconds=1.0),
    head=dict(in_channels=1024, text_channels=1024,
              dropout=0.2, text_dropout=0.2))
optim_wrapper = dict(optimizer=dict(lr=7e-05))
# lr_scheduler: false in the peer's best config
param_scheduler = []
# bs 64, 300 class-balanced batches an epoch; train crops of at most 60
# steps (random), evaluation crops of at most 300 (centre)
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=300),
    dataset=dict(max_steps=60, eval_max_steps=300))
val_dataloader = dict(dataset=dict(max_steps=60, eval_max_steps=300))
test_dataloader = dict(dataset=dict(max_steps=60, eval_max_steps=300))
