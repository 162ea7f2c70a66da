# Runtime shared by every stftbox config (mmengine Runner).
default_scope = 'stftbox'
# mmengine's Runner; the console leaves out the start-up dump (environment,
# config, hook order), which stays in <work_dir>/<timestamp>/<timestamp>.log
runner_type = 'StftboxRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keeps the latest checkpoints and the one with the best validation HM
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='gzsl/HM', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    # class-name embeddings from the dataset into the model
    dict(type='ClassEmbeddingHook'),
    # remembers the epoch and calibration beta of the best validation HM and
    # stores them in every checkpoint's meta (used by tools/test.py)
    dict(type='CalibrationHook'),
    # each epoch's randomness from (seed, epoch, rank): --resume reproduces
    # an uninterrupted run
    dict(type='EpochSeedHook'),
    # re-saves epoch_N.pth after validation N (scheduler stepped, calibration
    # recorded), so that --resume continues exactly
    dict(type='ValStateCheckpointHook'),
    # firing rate of every spiking layer (and their mean) in the training
    # log; models without spiking layers log nothing
    dict(type='SpikeStatsHook', interval=50),
    # a progress bar over evaluation batches (loaders of >= 20 batches)
    dict(type='EvalProgressHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when CUDA is not available
    dist_cfg=dict(backend='nccl'),
)
randomness = dict(seed=42, deterministic=False)

log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
