# STFT on the bundled surrogate of UCF-GZSL (synthetic features, see
# configs/_base_/datasets/ucf_gzsl_surrogate.py); a narrow STFT that trains
# in a few minutes on a 2-core CPU:
#   python tools/train.py configs/stft_demo.py
_base_ = [
    './_base_/models/stft.py', './_base_/datasets/ucf_gzsl_surrogate.py',
    './_base_/schedules/demo.py', './_base_/default_runtime.py'
]
embed_dims = 64
time_steps = 4
model = dict(
    backbone=dict(
        audio_channels=128,
        video_channels=512,
        embed_dims=embed_dims,
        out_channels=embed_dims,
        snn_branch=dict(time_steps=time_steps, num_blocks=2,
                        tsf=dict(time_steps=time_steps)),
        transformer_branch=dict(
            knowledge_combiner=dict(num_slots=4, num_heads=4, slot_dims=32),
            cross_modal=dict(num_heads=4, num_layers=1)),
        fusion=dict(rank_r=16, rank_s=16, rank_o=16)),
    head=dict(in_channels=embed_dims, text_channels=384, embed_dims=64,
              hidden_dims=64))
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(batch_size=train_batch_size, num_batches=25))
default_hooks = dict(logger=dict(interval=5))
