# Ablation of configs/stft_demo.py with the pointwise Conv1d (kernel 1, the
# speed option) instead of the temporal kernel 3 ([I] default). Same data,
# schedule and seed.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(kernel_size=1)))
