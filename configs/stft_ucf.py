# STFT on UCF-GZSL: C3D video (4096-d) + VGGish audio (128-d) temporal features, cls split.
# Stage 1 of the benchmark protocol (train on stage-1 train, choose epoch and
# calibration beta on validation); tools/run_protocol.py runs both stages.
# Needs the published features under data/avgzsl_benchmark_non_averaged_datasets
# (tools/dataset_converters/download_avgzsl.py, docs/data.md).
_base_ = [
    './_base_/models/stft.py', './_base_/datasets/ucf_gzsl_cls.py',
    './_base_/schedules/adam_50e.py', './_base_/default_runtime.py'
]
# [I] transformer-style learning rate (docs/method.md: 1e-3 AVCA, 5e-5 TCaF)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
