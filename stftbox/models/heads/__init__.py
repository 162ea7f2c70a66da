"""GZSL heads: joint embedding space, losses and distances. Peer heads:
``stftbox.models.baselines``."""
from .gzsl_head import GZSLHead

__all__ = ['GZSLHead']
