# Ablation of configs/stft_demo.py without global-local pooling (GLP): the
# spiking blocks get no pooled modulation and the dynamic threshold no GLP
# context. Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(pooling=None)))
