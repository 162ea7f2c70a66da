# AVMST-style = the exact AVCA + an SNN branch (AVMSTBackbone, IF neurons,
# 4 steps), at the widths of avca_demo.py on the bundled surrogate, with the
# schedule and seed of configs/stft_demo.py:
#   python tools/train.py configs/baselines/avmst_demo.py
_base_ = ['./avca_demo.py']
model = dict(
    backbone=dict(
        type='AVMSTBackbone',
        snn_branch=dict(type='SNNBranch', time_steps=4, num_blocks=2,
                        neuron=dict(type='IFNode'), pooling=None, tsf=None)))
