"""AVCA (Mercea, Riesch, Koepke, Akata, CVPR 2022), exact port."""
from .backbone import AVCABackbone
from .classifier import AVCA, sample_negatives
from .head import AVCAHead

__all__ = ['AVCABackbone', 'AVCAHead', 'AVCA', 'sample_negatives']
