# AVCA, exactly as released (docs/baselines.md), on UCF-GZSL: C3D video
# (4096-d, 0.64 s a step) + VGGish audio (128-d, 0.96 s a step) features
# averaged over time (the peer's .h5 files, T = 1), cls split, with the peer's
# run_scripts/UCF-GZSL/avca.sh settings. The averaged features live in AVCA's
# avgzsl_benchmark_datasets/<Dataset>/features/cls_features/:
#   python tools/train.py configs/baselines/avca_ucf.py \
#       --cfg-options train_dataloader.dataset.data_root=/path/UCF ...
_base_ = [
    './_models/avca.py', '../_base_/datasets/ucf_gzsl_cls.py',
    '../_base_/schedules/peer_adam_50e.py', '../_base_/peer_runtime.py'
]
momentum = 0.99
model = dict(
    backbone=dict(
        audio_channels=128,
        video_channels=4096,
        encoder_dropout=0.2,
        momentum=momentum),
    head=dict(
        dropout=0.3,
        text_dropout=0.5,
        momentum=momentum))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
averaged = dict(
    data_root='data/avgzsl_benchmark_datasets/UCF',
    feature_method='cls_features',
    feature_format='h5')
# bs 256, 500 class-balanced batches an epoch
train_batch_size = 256
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=500),
    dataset=averaged)
val_dataloader = dict(dataset=averaged)
test_dataloader = dict(dataset=averaged)
