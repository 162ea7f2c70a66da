# Ablation of configs/stft_demo.py with a fixed firing threshold: plain LIF
# neurons (V_th = 1) instead of the dynamic-threshold LIF. Same data,
# schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(
    backbone=dict(
        snn_branch=dict(
            neuron=dict(_delete_=True, type='LIFNode', tau=2.0,
                        v_threshold=1.0,
                        surrogate=dict(type='ATan', alpha=2.0)))))
