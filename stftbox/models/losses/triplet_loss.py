"""Bidirectional triplet loss between clip and class embeddings."""
import torch
import torch.nn as nn

from stftbox.registry import MODELS


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Triplet loss (margin 1) in both directions, over all negatives.

    Source: AVCA (Mercea et al., CVPR 2022) and STFT (docs/method.md, Losses [P]).
    With L2 distance ``d``:

    * clip anchor: ``relu(m + d(a_i, c_{y_i}) - d(a_i, c_k))`` for every class
      ``k != y_i`` among the candidate classes;
    * class anchor: ``relu(m + d(c_{y_i}, a_i) - d(c_{y_i}, a_j))`` for every
      clip ``j`` in the batch with ``y_j != y_i``.

    Each direction is averaged over its valid triplets; the loss is their sum
    times ``loss_weight``.

    Args:
        margin (float): triplet margin (distance units). Default 1.0.
        loss_weight (float): multiplier. Default 1.0.

    Shapes:
        av_embed ``[B, E]``, class_embed ``[C, E]``, targets ``[B]`` (rows of
        ``class_embed``) -> scalar.
    """

    def __init__(self, margin: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        self.margin = margin
        self.loss_weight = loss_weight

    def forward(self, av_embed: torch.Tensor, class_embed: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        dist = torch.cdist(av_embed, class_embed)  # [B, C]
        pos = dist.gather(1, targets[:, None])  # [B, 1]
        neg_cls = torch.ones_like(dist, dtype=torch.bool)
        neg_cls[torch.arange(len(targets)), targets] = False
        clip_anchor = (self.margin + pos - dist).clamp(min=0)[neg_cls]

        pos_cls = class_embed[targets]  # [B, E]
        d_cls_clip = torch.cdist(pos_cls, av_embed)  # [B, B]
        neg_clip = targets[:, None] != targets[None, :]
        class_anchor = (self.margin + pos - d_cls_clip).clamp(min=0)[neg_clip]

        loss = clip_anchor.mean() if clip_anchor.numel() else dist.sum() * 0
        if class_anchor.numel():
            loss = loss + class_anchor.mean()
        return self.loss_weight * loss
