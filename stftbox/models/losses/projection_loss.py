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

    ``apply_to`` tells the head (``GZSLHead``) which clip embeddings the
    loss is applied to, summing the terms: ``'modalities'`` = each
    modality's embedding (the backbone's ``modality_embeddings``, audio and
    video, projected like the fused one; AVCA's regression loss, [P]
    "between the modality embeddings and the class embedding"),
    ``'fused'`` = the fused audio-visual embedding, ``'both'``.

    Args:
        loss_weight (float): multiplier. Default 1.0.
        apply_to (str): ``'fused'``, ``'modalities'`` or ``'both'``.
            Default ``'fused'`` (works with every backbone; the STFT config
            sets ``'modalities'`` [P]).

    Shapes:
        av_embed ``[B, E]``, class_embed ``[C, E]``, targets ``[B]`` -> scalar.

    Raises:
        ValueError: unknown ``apply_to``.
    """

    APPLY_TO = ('fused', 'modalities', 'both')

    def __init__(self, loss_weight: float = 1.0, apply_to: str = 'fused'):
        super().__init__()
        if apply_to not in self.APPLY_TO:
            raise ValueError(f'ProjectionLoss: apply_to must be one of '
                             f'{self.APPLY_TO}, got {apply_to!r}')
        self.loss_weight = loss_weight
        self.apply_to = apply_to

    def forward(self, av_embed: torch.Tensor, class_embed: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.mse_loss(av_embed, class_embed[targets])
