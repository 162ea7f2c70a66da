# ClipClap-GZSL (Kurzendoerfer et al., CVPRW 2024) exactly as released in
# dkurzend/ClipClap-GZSL (MIT; docs/baselines.md) on ActivityNet-GZSL with its
# CLIP/CLAP features: the README's ActivityNet command (config/clipclap.yaml,
# --lr 1e-4 --epochs 15 --modality both --word_embeddings both
# --use_wavcaps_embeddings True). 2,237,824 parameters, all trained.
#   python tools/train.py configs/baselines/clipclap_activitynet.py
_base_ = [
    './_models/clipclap.py', '../_base_/datasets/activitynet_gzsl_clipclap.py',
    '../_base_/schedules/peer_adam_50e.py', '../_base_/peer_runtime.py'
]
# ClipClap's own clip-level features: the averaged layout of the CLIP/CLAP
# data root (middle frame; 10 s of audio), with the WavCaps-CLAP audio (1024-d)
# and class texts CLIP 512 + CLAP 1024 of the released features. Features
# extracted by stftbox's default LAION CLAP are 512-d (text 1024): set
# audio_channels / text_channels and the model's widths to match.
data = dict(feature_method='clipclap_features', feature_format='h5',
            audio_channels=1024, video_channels=512, max_steps=1,
            eval_max_steps=1)
text_channels = 1536
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
train_cfg = dict(max_epochs=15)
# bs 64, 300 class-balanced batches an epoch (config/clipclap.yaml)
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=300))
# ClipClap's protocol: beta swept over linspace(0, 5, 76) on validation;
# test beta (3 * beta_val + 1e-10) / 3
val_evaluator = dict(num_betas=76, beta_range=(0.0, 5.0))
test_evaluator = dict(beta_rule='clipclap')
