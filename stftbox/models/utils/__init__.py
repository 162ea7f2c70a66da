"""Model utilities (spike statistics with spikingjelly's monitors and op
counters)."""
from .spike_stats import (FiringRateMonitor, attention_macs,
                          count_synops_macs, firing_rates, spiking_layers)

__all__ = ['FiringRateMonitor', 'firing_rates', 'spiking_layers',
           'count_synops_macs', 'attention_macs']
