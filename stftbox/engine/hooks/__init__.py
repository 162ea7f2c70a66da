from .checkpoint_hook import DurableCheckpointHook, MetricKeyError  # noqa: F401,E501
from .class_embedding_hook import ClassEmbeddingHook  # noqa: F401
from .calibration_hook import CalibrationHook  # noqa: F401
from .spike_stats_hook import SpikeStatsHook  # noqa: F401
from .epoch_seed_hook import EpochSeedHook  # noqa: F401
from .val_state_checkpoint_hook import ValStateCheckpointHook  # noqa: F401
from .train_mode_embedding_hook import TrainModeEmbeddingHook  # noqa: F401
from .eval_progress_hook import EvalProgressHook  # noqa: F401
