"""Model utilities (spike statistics, row chunks of hand-written kernels)."""
from .row_chunks import row_chunks
from .spike_stats import (FiringRateMonitor, attention_macs,
                          count_synops_macs, firing_rates, spiking_layers)

__all__ = ['FiringRateMonitor', 'firing_rates', 'spiking_layers',
           'count_synops_macs', 'attention_macs', 'row_chunks']
