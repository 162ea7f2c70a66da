# Ablation of configs/stft_demo.py with the convex GLP mix ([I], the earlier
# default) P = b P_max + (1 - b) P_avg, b = clamp(beta, 0, 1), instead of the
# stated form ([S]) P = (P_max + P_avg) / 2 + b P_max + (1 - b) P_avg with a
# sigmoid-squashed b. Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(
    backbone=dict(
        snn_branch=dict(
            pooling=dict(form='convex', mix_activation='clamp'))))
