"""Model utilities (spike statistics)."""
from .spike_stats import firing_rates, set_firing_rate_recording, spiking_layers

__all__ = ['firing_rates', 'spiking_layers', 'set_firing_rate_recording']
