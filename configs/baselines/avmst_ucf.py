# AVMST-style baseline (IF-neuron SNN + transformer) on UCF-GZSL with the
# published C3D/VGGish temporal features (cls split), 50-epoch schedule.
# Point the dataloaders' data_root at the features (see
# configs/_base_/datasets/ucf_gzsl_cls.py):
#   python tools/train.py configs/baselines/avmst_ucf.py
_base_ = [
    './_models/avmst.py', '../_base_/datasets/ucf_gzsl_cls.py',
    '../_base_/schedules/adam_50e.py', '../_base_/default_runtime.py'
]
