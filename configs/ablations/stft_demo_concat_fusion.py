# Ablation of configs/stft_demo.py with a first-order concat fusion (no
# interaction terms) instead of the Tucker fusion, at both scales. Same
# data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(fusion=dict(_delete_=True, type='ConcatFusion')))
