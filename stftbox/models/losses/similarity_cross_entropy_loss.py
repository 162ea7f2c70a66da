"""Cross-entropy over dot-product class scores (TCaF)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.registry import MODELS


@MODELS.register_module()
class DotProductCrossEntropyLoss(nn.Module):
    """Cross-entropy with logits ``<a_i, c_k>`` (inner products, no
    temperature, no normalisation).

    Source: TCaF (Mercea et al., ECCV 2022; docs/baselines.md): the clip
    embedding is scored against the projected text embedding of every
    training class by a matrix product, and the class is predicted by
    cross-entropy. (Evaluation still uses L2 distances.)

    Args:
        loss_weight (float): multiplier. Default 1.0.

    Shapes:
        av_embed ``[B, E]``, class_embed ``[C, E]``, targets ``[B]`` (rows of
        ``class_embed``) -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, av_embed: torch.Tensor, class_embed: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        logits = torch.matmul(av_embed, class_embed.t())
        return self.loss_weight * F.cross_entropy(logits, targets)
