# SpikingAVCA = the exact AVCA (configs/baselines/avca_ucf.py, UCF-GZSL cls
# features) + an SNN branch (SpikingAVCABackbone: IF neurons over the two
# encoded tokens, 10 steps as STFT [P], three blocks):
#   python tools/train.py configs/baselines/spiking_avca_ucf.py
# Not the released AVMST (ICME 2023): see docs/baselines.md.
_base_ = ['./avca_ucf.py']
model = dict(
    type='SpikingAVCA',
    backbone=dict(
        type='SpikingAVCABackbone',
        snn_branch=dict(type='SNNBranch', time_steps=10, num_blocks=3,
                        neuron=dict(type='IFNode'), pooling=None, tsf=None)))
