"""Cross-entropy over negative class distances (TCaF-style)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.registry import MODELS


@MODELS.register_module()
class DistanceCrossEntropyLoss(nn.Module):
    """Cross-entropy with logits ``-d(a_i, c_k) / temperature``.

    A registered alternative to the triplet loss (TCaF, Mercea et al., ECCV
    2022, trains with a cross-entropy over class scores; docs/method.md, Losses).

    Args:
        temperature (float): divides the negative L2 distances. Default 1.0.
        loss_weight (float): multiplier. Default 1.0.

    Shapes:
        av_embed ``[B, E]``, class_embed ``[C, E]``, targets ``[B]`` -> scalar.

    Raises:
        ValueError: if ``temperature <= 0``.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, av_embed: torch.Tensor, class_embed: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        logits = -torch.cdist(av_embed, class_embed) / self.temperature
        return self.loss_weight * F.cross_entropy(logits, targets)
