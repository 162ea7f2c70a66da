# Ablation of configs/stft_demo.py with Conv1d kernel 3 along the tokens
# ([I], the earlier default) instead of the pointwise Conv1d (kernel 1).
# Same data, schedule and seed.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(kernel_size=3)))
