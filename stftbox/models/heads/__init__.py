"""GZSL heads: joint embedding space, losses and distances."""
from .gzsl_head import GZSLHead

__all__ = ['GZSLHead']
