# AVMST-style = the exact AVCA (configs/baselines/avca_ucf.py, UCF-GZSL cls
# features) + an SNN branch (AVMSTBackbone: IF neurons over the two encoded
# tokens, 10 steps as STFT [P], three blocks):
#   python tools/train.py configs/baselines/avmst_ucf.py
_base_ = ['./avca_ucf.py']
model = dict(
    backbone=dict(
        type='AVMSTBackbone',
        snn_branch=dict(type='SNNBranch', time_steps=10, num_blocks=3,
                        neuron=dict(type='IFNode'), pooling=None, tsf=None)))
