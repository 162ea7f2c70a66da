"""The embedding network of the AV-GZSL peers: Linear -> BatchNorm -> ReLU ->
Dropout, with an optional hidden layer."""
from typing import Optional

import torch
import torch.nn as nn

from stftbox.registry import MODELS

__all__ = ['BNMLP']


@MODELS.register_module()
class BNMLP(nn.Module):
    """One or two ``Linear -> BatchNorm1d -> ReLU -> Dropout`` stages.

    The "embedding net" of AVCA (Mercea et al., CVPR 2022) and TCaF (Mercea
    et al., ECCV 2022): every encoder, projection and decoder of both models
    is one of these (docs/baselines.md). With ``hidden_channels`` the layers
    are ``Linear(C_in, H), BN(H), ReLU, Dropout, Linear(H, C_out),
    BN(C_out, momentum), ReLU, Dropout``; without it ``Linear(C_in, C_out),
    BN(C_out), ReLU, Dropout`` and ``momentum`` is not used. The outputs are
    therefore non-negative.

    Args:
        in_channels (int): input width ``C_in``.
        out_channels (int): output width ``C_out``.
        hidden_channels (int, optional): hidden width ``H``; None or 0 = one
            stage.
        dropout (float): dropout probability of every stage.
        momentum (float): BatchNorm momentum (PyTorch convention: weight of
            the new batch) of the *second* BatchNorm of a two-stage net only,
            as in AVCA; every other BatchNorm uses 0.1. Default 0.1.
        hidden_norm (bool): BatchNorm in the hidden stage. Default True.

    Shapes:
        ``x [N, C_in]`` -> ``[N, C_out]``. The stages are kept in
        ``self.layers`` (an ``nn.Sequential``, indices 0-7 or 0-3), so a
        peer's ``fc.<i>`` keys map to ``layers.<i>`` one to one.

    Raises:
        ValueError: non-positive widths or a dropout outside ``[0, 1)``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 hidden_channels: Optional[int] = None,
                 dropout: float = 0.0, momentum: float = 0.1,
                 hidden_norm: bool = True) -> None:
        super().__init__()
        if in_channels <= 0 or out_channels <= 0 or (
                hidden_channels is not None and hidden_channels < 0):
            raise ValueError(
                f'BNMLP: widths must be positive, got in={in_channels} '
                f'hidden={hidden_channels} out={out_channels}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'BNMLP: dropout must be in [0, 1), got '
                             f'{dropout}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hidden_channels = hidden_channels or None
        layers = []
        if self.hidden_channels:
            layers.append(nn.Linear(in_channels, self.hidden_channels))
            if hidden_norm:
                layers.append(nn.BatchNorm1d(self.hidden_channels))
            layers += [nn.ReLU(), nn.Dropout(dropout),
                       nn.Linear(self.hidden_channels, out_channels),
                       nn.BatchNorm1d(out_channels, momentum=momentum)]
        else:
            layers += [nn.Linear(in_channels, out_channels),
                       nn.BatchNorm1d(out_channels)]
        layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in] -> [N, C_out]``."""
        return self.layers(x)
