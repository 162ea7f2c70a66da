# Ablation of configs/stft_demo.py with a new dropout mask at every time step
# (torch.nn.Dropout, [I], the earlier behaviour) instead of one mask for all
# T steps (spikingjelly layer.Dropout). Same data, schedule and seed.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(dropout_mode='per_step')))
