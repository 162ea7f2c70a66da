# UCF-GZSL, C3D video (4096-d, 0.64 s a step) + VGGish audio (128-d, 0.96 s a
# step) temporal features, cls split (docs/data.md). Point `data_root` of the
# three dataloaders at the published features, e.g.
#   --cfg-options train_dataloader.dataset.data_root=/path/UCF \
#                 val_dataloader.dataset.data_root=/path/UCF \
#                 test_dataloader.dataset.data_root=/path/UCF
dataset_type = 'AVGZSLDataset'
data_root = 'data/avgzsl_benchmark_non_averaged_datasets/UCF'
data = dict(
    type=dataset_type,
    data_root=data_root,
    dataset_name='UCF',
    feature_method='cls_features_non_averaged',
    split='cls_split',
    feature_format='pkl',
    audio_channels=128,
    video_channels=4096,
    audio_step_seconds=0.96,
    video_step_seconds=0.64,
    max_steps=60,
    eval_max_steps=60)
text_channels = 300  # word2vec class-name embeddings

train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=2,
    # fresh workers each epoch, seeded from (seed, epoch, rank) by
    # EpochSeedHook: random crops differ per epoch and --resume is exact
    persistent_workers=False,
    worker_init_fn=dict(type='stftbox.epoch_worker_init_fn'),
    # class-balanced batches, a fixed number per epoch (benchmark.md)
    sampler=dict(type='ClassBalancedSampler', batch_size=train_batch_size,
                 num_batches=300),
    collate_fn=dict(type='stftbox.av_gzsl_collate'),
    dataset=dict(data, phase='stage_1_train'))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='stftbox.av_gzsl_collate'),
    dataset=dict(data, phase='stage_1_val', test_mode=True))
test_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='stftbox.av_gzsl_collate'),
    dataset=dict(data, phase='stage_2_test', test_mode=True))

# stage 1: sweep the calibration beta on validation
val_evaluator = dict(type='GZSLMetric', calibration='sweep')
# test: a fixed beta, no sweep; tools/test.py takes the beta chosen on
# validation from the checkpoint's meta (or --beta)
test_evaluator = dict(type='GZSLMetric', calibration=0.0)

# Typical sequence lengths of one clip, the default input of
# tools/analysis_tools/benchmark.py [I]: the benchmark clips last about 10 s,
# i.e. 10 / 0.96 = 10 VGGish audio steps and 10 / 0.64 = 16 C3D video steps
# (training crops at most max_steps = 60).
benchmark_seq_lens = dict(audio=10, video=16)
