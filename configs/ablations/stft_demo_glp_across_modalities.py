# Ablation of configs/stft_demo.py whose local windows (GLP and Conv1d) run
# across the audio/video boundary of the joined token sequence (the earlier
# behaviour) instead of staying within each modality ([I] default). Same
# data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_branch=dict(windows_within_segments=False)))
