"""Whole models (mmengine BaseModel). Peer models: ``stftbox.models.baselines``."""
from .av_gzsl_classifier import STFT, AVGZSLClassifier

__all__ = ['AVGZSLClassifier', 'STFT']
