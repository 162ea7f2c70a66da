"""TCaF as an stftbox model: the peer's training and evaluation conventions
on top of :class:`AVGZSLClassifier`."""
from typing import Dict, List, Optional, Union

import torch

from stftbox.registry import MODELS
from ...classifiers.av_gzsl_classifier import AVGZSLClassifier

__all__ = ['TCaF']


@MODELS.register_module()
class TCaF(AVGZSLClassifier):
    """TCaF (Mercea, Hummel, Koepke, Akata, ECCV 2022) with backbone
    ``TCaFBackbone`` and head ``TCaFHead`` (docs/baselines.md).

    Same interface as :class:`AVGZSLClassifier`. As in the peer, training
    (``mode='loss'``) feeds the time positions in seconds to the time
    embedding, while every evaluation path (``'predict'``, ``'tensor'``) uses
    the integer step positions of the peer's ``get_embeddings``.
    """

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[dict, List[dict]]:
        time_mode = 'seconds' if mode == 'loss' else 'index'
        return super().forward(dict(inputs, time_mode=time_mode),
                               data_samples, mode)

    def train_mode_embedding_pass(self, inputs: Dict[str, torch.Tensor],
                                  data_samples: dict) -> None:
        """The peer's train loop calls ``get_embeddings`` in train mode after
        every optimiser step; this repeats that call (no gradient), whose
        only lasting effect is one more BatchNorm running-statistics update
        of the encoders, ``clip_proj`` and ``text_proj`` (on the clips'
        class texts). Used by ``TrainModeEmbeddingHook``."""
        labels = data_samples['labels']
        with torch.no_grad():
            feats = self.backbone(**inputs, time_mode='index')
            self.head.clip_proj(feats['embedding'])
            self.head.text_proj(self.class_embeddings[labels])
