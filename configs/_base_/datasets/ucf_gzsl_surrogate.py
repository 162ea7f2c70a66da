# The bundled default data: a *surrogate* of UCF-GZSL. Real UCF-GZSL class
# splits and real class-name embeddings (all-MiniLM-L6-v2, 384-d), but
# SYNTHETIC audio (128-d, 0.96 s a step) and video (512-d, 0.64 s a step)
# features written in the benchmark's on-disk layout (docs/data.md). Numbers
# on it say nothing about real data; use ucf_gzsl_cls.py with the published
# features for that. `prepare` generates it on first use (seeded) in the
# stftbox home ($STFTBOX_HOME, default ~/.cache/stftbox), whatever the
# working directory, so every run of every checkout shares one copy.
_base_ = ['./ucf_gzsl_cls.py']
data = dict(
    data_root='{{$STFTBOX_HOME:~/.cache/stftbox}}/data/surrogate_avgzsl/UCF',
    dataset_name='UCF',
    feature_method='surrogate_temporal',
    split='cls_split',
    audio_channels=128,
    video_channels=512,
    audio_step_seconds=0.96,
    video_step_seconds=0.64,
    prepare=dict(type='make_surrogate_avgzsl', seed=0))
text_channels = 384
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)

# benchmark input [I]: surrogate clips last 3.84 to 7.68 s (5.76 s on
# average: 6 audio steps of 0.96 s, 9 video steps of 0.64 s)
benchmark_seq_lens = dict(audio=6, video=9)
