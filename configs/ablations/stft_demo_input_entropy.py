# Ablation of configs/stft_demo.py with the dynamic threshold driven by the
# entropy of the step *input* (softmax over channels, [I], the earlier
# default) instead of the entropy of the step output ([S]; causal: the
# previous step's spikes). Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(
    backbone=dict(
        snn_branch=dict(neuron=dict(entropy_source='input'))))
