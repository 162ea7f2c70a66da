"""GZSL heads: joint embedding space, losses and distances."""
from .gzsl_head import GZSLHead
from .tcaf_head import TCaFHead
from .avca_head import AVCAHead

__all__ = ['GZSLHead', 'TCaFHead', 'AVCAHead']
