# STFT on UCF-GZSL with CLIP/CLAP features built from the raw videos
# (configs/_base_/datasets/ucf_gzsl_clipclap.py; temporal layout, a step a
# second): CLIP image 512-d, CLAP audio 512-d, class names CLIP+CLAP text
# 1024-d. Stage 1 of the protocol; tools/run_protocol.py runs both stages.
#   python tools/dataset_converters/extract_features.py ucf /path/videos
#   python tools/train.py configs/stft_ucf_clipclap.py
_base_ = [
    './_base_/models/stft.py', './_base_/datasets/ucf_gzsl_clipclap.py',
    './_base_/schedules/adam_50e.py', './_base_/default_runtime.py'
]
model = dict(
    backbone=dict(audio_channels=512, video_channels=512),
    head=dict(text_channels=1024))
# [I] transformer-style learning rate (docs/method.md: 1e-3 AVCA, 5e-5 TCaF)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
