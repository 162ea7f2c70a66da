"""Projection (regression) loss: clip embedding onto its class embedding."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.registry import MODELS


@MODELS.register_module()
class ProjectionLoss(nn.Module):
    """Mean squared error between each clip embedding and the embedding of
    its class, ``mean((a_i - c_{y_i})^2)`` (AVCA regression loss; docs/method.md,
    Losses [P]).

    Args:
        loss_weight (float): multiplier. Default 1.0.

    Shapes:
        av_embed ``[B, E]``, class_embed ``[C, E]``, targets ``[B]`` -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, av_embed: torch.Tensor, class_embed: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.mse_loss(av_embed, class_embed[targets])
