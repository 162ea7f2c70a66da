# Ablation of configs/stft_demo.py with the full bilinear fusion (d_o d_r
# d_s weights, what Tucker factorises) instead of the Tucker fusion, at both
# scales. Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(
    backbone=dict(fusion=dict(_delete_=True, type='BilinearFusion')))
