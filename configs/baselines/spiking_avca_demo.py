# SpikingAVCA = the exact AVCA + an SNN branch (SpikingAVCABackbone, IF
# neurons, 4 steps), at the widths of avca_demo.py on the bundled surrogate, with the
# schedule and seed of configs/stft_demo.py:
#   python tools/train.py configs/baselines/spiking_avca_demo.py
# Not the released AVMST (ICME 2023): see docs/baselines.md.
_base_ = ['./avca_demo.py']
model = dict(
    type='SpikingAVCA',
    backbone=dict(
        type='SpikingAVCABackbone',
        snn_branch=dict(type='SNNBranch', time_steps=4, num_blocks=2,
                        neuron=dict(type='IFNode'), pooling=None, tsf=None)))
