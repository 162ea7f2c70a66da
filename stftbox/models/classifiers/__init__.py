"""Whole models (mmengine BaseModel)."""
from .av_gzsl_classifier import STFT, AVGZSLClassifier

__all__ = ['AVGZSLClassifier', 'STFT']
