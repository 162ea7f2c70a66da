"""Spiking neurons (``NEURONS`` registry), all multi-step by default
(input ``[T, B, ...]``) and all resettable by spikingjelly's
``functional.reset_net``."""
from .base import (DEFAULT_SURROGATE, SpikeRecordMixin, build_surrogate,
                   valid_surrogate_names)
from .dynamic_threshold_lif import (DynamicThresholdLIF,
                                    normalized_softmax_entropy)
from .plain_neurons import IFNode, LIFNode, ParametricLIFNode

__all__ = [
    'DEFAULT_SURROGATE', 'SpikeRecordMixin', 'build_surrogate',
    'valid_surrogate_names', 'DynamicThresholdLIF',
    'normalized_softmax_entropy', 'LIFNode', 'IFNode', 'ParametricLIFNode'
]
