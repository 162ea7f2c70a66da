"""Model utilities (spike statistics)."""
from .spike_stats import firing_rates, spiking_layers

__all__ = ['firing_rates', 'spiking_layers']
