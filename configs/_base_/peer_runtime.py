# stftbox runtime plus the peers' train-mode embedding pass after each step
# (TrainModeEmbeddingHook; its BatchNorm updates shape the evaluation
# statistics, docs/baselines.md).
_base_ = ['./default_runtime.py']
custom_hooks = [
    dict(type='ClassEmbeddingHook'),
    dict(type='CalibrationHook'),
    dict(type='EpochSeedHook'),
    dict(type='ValStateCheckpointHook'),
    dict(type='SpikeStatsHook', interval=50),
    dict(type='TrainModeEmbeddingHook'),
]
