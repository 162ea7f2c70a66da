"""SpikingAVCA: the exact AVCA plus a spiking branch over the two encoded
tokens. Our own AVCA variant, *not* the released AVMST (the exact AVMST port
lives beside it in ``baselines/avmst.py`` once issue 18 lands)."""
import copy
from typing import Dict, Optional

import torch
import torch.nn as nn

from stftbox.registry import MODELS
from .avca.backbone import AVCABackbone
from .avca.classifier import AVCA

__all__ = ['SpikingAVCABackbone', 'SpikingAVCA']


@MODELS.register_module()
class SpikingAVCABackbone(AVCABackbone):
    """:class:`AVCABackbone` with an SNN branch on the encoded tokens [I].

    This is what the repository formerly called "AVMST-style". It is *not*
    the released AVMST (Li et al., ICME 2023), which runs Linear -> IF ->
    Linear -> IF on the raw input features and uses the softmax-gated firing
    rate to modulate the modality embeddings (docs/baselines.md).

    The SNN branch (``SNNBranch`` by config) runs over the two encoded
    tokens ``[phi_a, phi_v]`` (``[B, 2, d]``) for ``T`` time steps; its
    embedding (firing rates, ``[B, D]``) is mapped by ``snn_proj``
    (``Linear(D, d)``) and added to both attended features [I]:
    ``audio = phi_a + attn[:, 0] + s``, ``video = phi_v + attn[:, 1] + s``.
    Everything else (and the ``AVCAHead`` on top) is AVCA's; with
    ``snn_branch=None`` the model is exactly AVCA.

    Args:
        snn_branch (dict | None): MODELS config of the spiking branch;
            ``in_channels`` is set to ``embed_dims`` and ``embed_dims``
            defaults to it. Default ``SNNBranch`` with IF neurons, 4 steps,
            2 blocks, no GLP pooling and no TSF.
        **kwargs: :class:`AVCABackbone` arguments.

    Shapes:
        As :class:`AVCABackbone`, plus ``snn`` (the branch's output dict)
        when the branch is on.
    """

    def __init__(self, *args,
                 snn_branch: Optional[dict] = dict(
                     type='SNNBranch', time_steps=4, num_blocks=2,
                     neuron=dict(type='IFNode'), pooling=None, tsf=None),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.snn_branch = self.snn_proj = None
        if snn_branch is not None:
            cfg = copy.deepcopy(dict(snn_branch))
            cfg['in_channels'] = self.embed_dims
            cfg.setdefault('embed_dims', self.embed_dims)
            self.snn_branch = MODELS.build(cfg)
            self.snn_proj = nn.Linear(cfg['embed_dims'], self.embed_dims)

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        out = super().forward(audio, video, audio_padding_mask,
                              video_padding_mask)
        if self.snn_branch is None:
            return out
        tokens = torch.stack((out['phi_a'], out['phi_v']), dim=1)
        snn = self.snn_branch(tokens)
        s = self.snn_proj(snn['embedding'])
        out.update(audio=out['audio'] + s, video=out['video'] + s, snn=snn)
        out['embedding'] = out['video']
        return out


@MODELS.register_module()
class SpikingAVCA(AVCA):
    """:class:`AVCA` (training with negatives, video-branch evaluation) with a
    :class:`SpikingAVCABackbone`; the name says which model a config builds.
    Same interface as :class:`AVCA`."""
