# AVCA, as released (docs/baselines.md), on UCF-GZSL with CLIP/CLAP
# features built from the raw videos (configs/_base_/datasets/
# ucf_gzsl_clipclap.py), averaged layout (features/clipclap_features,
# .h5: the middle frame and 10 s of audio centred on the clip, T = 1).
# Hyper-parameters: the peer's 512-d SeLaVi settings (avca_ucf_main.py);
# class names 1024-d (CLIP+CLAP text).
#   python tools/train.py configs/baselines/avca_ucf_clipclap.py
_base_ = [
    './_models/avca.py', '../_base_/datasets/ucf_gzsl_clipclap.py',
    '../_base_/schedules/peer_adam_50e.py', '../_base_/peer_runtime.py'
]
momentum = 0.1
model = dict(
    backbone=dict(
        audio_channels=512,
        video_channels=512,
        encoder_dropout=0.2,
        momentum=momentum),
    head=dict(
        text_channels=1024,
        dropout=0.3,
        text_dropout=0.5,
        momentum=momentum))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
averaged = dict(feature_method='clipclap_features', feature_format='h5')
# bs 256, 500 class-balanced batches an epoch
train_batch_size = 256
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=500),
    dataset=averaged)
val_dataloader = dict(dataset=averaged)
test_dataloader = dict(dataset=averaged)
