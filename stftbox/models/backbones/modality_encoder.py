"""Per-modality feature encoder of STFT ([S]: linear + norm + dropout)."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import MODELS

_ACTS = dict(GELU=nn.GELU, ReLU=nn.ReLU, Identity=nn.Identity)


@MODELS.register_module()
class ModalityEncoder(BaseModule):
    """Linear -> LayerNorm -> activation -> Dropout, applied per time step.

    Maps the pre-extracted features of one modality to the shared width
    ``d`` of both STFT branches (docs/method.md, "per-modality encoders" [S];
    the activation choice is [I]).

    Args:
        in_channels (int): input feature width ``C_in`` (e.g. 512 audio /
            video features of the benchmark).
        embed_dims (int): output width ``d``. Default 512 [S].
        act (str): ``'GELU'``, ``'ReLU'`` or ``'Identity'``. Default
            ``'GELU'`` [I].
        norm (bool): LayerNorm after the linear layer. Default True [S].
        dropout (float): dropout probability. Default 0.1 [I].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``x [B, L, C_in]`` (float), optional ``padding_mask [B, L]`` bool
        (True = padded) -> ``[B, L, d]``; padded steps of the output are set
        to zero.

    Raises:
        ValueError: on an unknown ``act`` or (forward) a last dim that is not
            ``C_in``.
    """

    def __init__(self, in_channels: int, embed_dims: int = 512,
                 act: str = 'GELU', norm: bool = True, dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if act not in _ACTS:
            raise ValueError(f'act must be one of {tuple(_ACTS)}, got {act!r}')
        self.in_channels, self.embed_dims = in_channels, embed_dims
        self.fc = nn.Linear(in_channels, embed_dims)
        self.norm = nn.LayerNorm(embed_dims) if norm else nn.Identity()
        self.act = _ACTS[act]()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None,
                return_linear: bool = False):
        """Encode ``x [B, L, C_in]`` -> ``[B, L, d]`` (padded steps zero).

        ``return_linear=True`` returns ``(y, o)`` with ``o = fc(x)`` ``[B, L,
        d]``, the linear output before the norm (what a decoder tied to
        ``fc`` needs, see ``tied_reconstruction_mse`` in
        ``stftbox/ops/tied_reconstruction.py``).
        """
        if x.shape[-1] != self.in_channels:
            raise ValueError(f'expected last dim {self.in_channels}, got '
                             f'{tuple(x.shape)}')
        o = self.fc(x)
        y = self.drop(self.act(self.norm(o)))
        if padding_mask is not None:
            y = y.masked_fill(padding_mask.unsqueeze(-1), 0.0)
        return (y, o) if return_linear else y
