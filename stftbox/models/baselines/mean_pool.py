"""The simplest audio-visual embedding: masked temporal mean + MLP."""
import torch
import torch.nn as nn

from stftbox.registry import MODELS


def masked_mean(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of ``x`` ``[B, L, C]`` ignoring steps where
    ``padding_mask`` ``[B, L]`` is True; a fully padded row gives zeros.
    Returns ``[B, C]``."""
    keep = (~padding_mask).unsqueeze(-1).to(x.dtype)
    return (x * keep).sum(1) / keep.sum(1).clamp(min=1)


@MODELS.register_module()
class MeanPoolAVEncoder(nn.Module):
    """Baseline backbone: each modality is averaged over its valid time steps
    (like the AVCA averaged features), encoded by Linear-LayerNorm-ReLU-
    Dropout, then the two are concatenated and projected.

    Args:
        audio_channels (int): audio feature width ``D_a``.
        video_channels (int): video feature width ``D_v``.
        embed_dims (int): per-modality width. Default 256.
        out_channels (int): output width ``E``. Default 256.
        dropout (float): dropout probability. Default 0.1.

    Shapes:
        audio ``[B, T_a, D_a]``, video ``[B, T_v, D_v]``, padding masks
        ``[B, T]`` (True = padded) -> ``dict(embedding=[B, E])``.
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 256, out_channels: int = 256,
                 dropout: float = 0.1) -> None:
        super().__init__()

        def encoder(c_in):
            return nn.Sequential(nn.Linear(c_in, embed_dims),
                                 nn.LayerNorm(embed_dims), nn.ReLU(),
                                 nn.Dropout(dropout))

        self.audio_encoder = encoder(audio_channels)
        self.video_encoder = encoder(video_channels)
        self.proj = nn.Linear(2 * embed_dims, out_channels)

    def forward(self, audio, video, audio_padding_mask, video_padding_mask):
        a = self.audio_encoder(masked_mean(audio, audio_padding_mask))
        v = self.video_encoder(masked_mean(video, video_padding_mask))
        return dict(embedding=self.proj(torch.cat([a, v], dim=-1)))
