# Ablation of configs/stft_demo.py with per-token Linear+LIF spiking blocks
# ([I], the earlier default) instead of the stated Conv+LIF blocks ([S],
# Conv1d along the tokens, kernel 3). Same data, schedule and seed.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(layer_type='linear')))
