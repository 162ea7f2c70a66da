# AVMST (ICME 2023) as released in liwr-hit/ICME23_AVMST (docs/baselines.md)
# on the SeLaVi main-split features (512/512: the released model runs only
# with equal audio/video widths), with AVCA's run_scripts settings for this
# dataset (configs/baselines/avca_ucf_main.py; the repo ships no AVMST run
# script). Released-code behaviours, each with its switch:
#   video_rate_from_audio_branch=True  video steps 2..T in the audio branch
#   carry_snn_state=True               negatives on the positives' membranes
#   train_snn=False                    spiking branches never optimised
# 2,526,220 parameters, 1,692,508 optimised.
_base_ = ['./avca_ucf_main.py']
model = dict(
    type='AVMST',
    carry_snn_state=True,
    backbone=dict(
        type='AVMSTFusionBackbone',
        time_steps=10,
        video_rate_from_audio_branch=True,
        train_snn=False))
