# Ablation of configs/stft_demo.py without the time-step factor (TSF): the
# SNN step outputs are averaged (and the per-step fusion scale uses the
# mean). Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(tsf=None)))
