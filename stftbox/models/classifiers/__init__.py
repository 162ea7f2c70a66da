"""Whole models (mmengine BaseModel)."""
from .av_gzsl_classifier import STFT, AVGZSLClassifier
from .peer_models import AVCA, TCaF

__all__ = ['AVGZSLClassifier', 'STFT', 'TCaF', 'AVCA']
