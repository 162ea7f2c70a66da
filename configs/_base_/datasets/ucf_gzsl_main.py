# UCF-GZSL, SeLaVi audio/video (512-d each, 1 s a step) temporal features, main split.
# Same dataloaders as ucf_gzsl_cls.py; only these dataset fields differ.
_base_ = ['./ucf_gzsl_cls.py']
data = dict(
    data_root='data/avgzsl_benchmark_non_averaged_datasets/UCF',
    dataset_name='UCF',
    feature_method='main_features_non_averaged',
    split='main_split',
    audio_channels=512,
    video_channels=512,
    audio_step_seconds=1.0,
    video_step_seconds=1.0)
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)

# benchmark input [I]: about 10 s clips, one SeLaVi step a second
benchmark_seq_lens = dict(audio=10, video=10)
