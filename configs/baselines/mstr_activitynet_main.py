# MSTR (Neurocomputing 2025) as released in xia-zhe/MSTR (docs/baselines.md)
# on the SeLaVi main-split features (512/512), with AVCA's run_scripts
# settings for this dataset (configs/baselines/avca_activitynet_main.py;
# the repo ships no MSTR run script) and batch 256, the only training batch the
# released forward accepts. Released-code behaviours, each with its switch:
#   video_rate_from_audio_branch=True  video steps 2..T in the audio branch
#   carry_snn_state=True               negatives on the positives' membranes
#   train_batch_size=256               fixed training batch (None: any)
# Unlike AVMST the spiking branches are trained (train_snn=True).
# 3,356,426 parameters, 3,355,226 optimised.
_base_ = ['./avca_activitynet_main.py']
model = dict(
    type='MSTR',
    carry_snn_state=True,
    backbone=dict(
        type='MSTRBackbone',
        time_steps=10,
        tensor_ranks=(400, 1, 1, 300),
        video_rate_from_audio_branch=True,
        train_snn=True,
        train_batch_size=256))
train_batch_size = 256
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size))
