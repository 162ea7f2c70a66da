# Ablation of configs/stft_demo.py whose local windows (GLP and Conv1d) run
# across the audio/video boundary: one joined token sequence per clip
# instead of the audio and video sequences one after the other ([I]
# default). Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(backbone=dict(snn_input='joined'))
