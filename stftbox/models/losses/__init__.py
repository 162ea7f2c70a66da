"""Losses between clip and class embeddings in the joint space. Interface:
``loss(av_embed [B, E], class_embed [C, E], targets [B]) -> scalar``."""
from .cross_entropy_loss import DistanceCrossEntropyLoss
from .projection_loss import ProjectionLoss
from .similarity_cross_entropy_loss import DotProductCrossEntropyLoss
from .triplet_loss import TripletLoss

__all__ = ['TripletLoss', 'ProjectionLoss', 'DistanceCrossEntropyLoss',
           'DotProductCrossEntropyLoss']
