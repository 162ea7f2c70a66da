"""Poolings along the token axis that shape the neuron input
(``POOLINGS`` registry): GLP, max, average."""
from .token_poolings import (AvgPooling, BaseTokenPooling, GlobalLocalPooling,
                             MaxPooling)

__all__ = ['BaseTokenPooling', 'MaxPooling', 'AvgPooling',
           'GlobalLocalPooling']
