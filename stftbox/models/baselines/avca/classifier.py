"""AVCA as an stftbox model: the peer's training and evaluation conventions
on top of :class:`AVGZSLClassifier`."""
from typing import Dict, List, Optional, Union

import torch

from stftbox.registry import MODELS
from ...classifiers.av_gzsl_classifier import AVGZSLClassifier

__all__ = ['AVCA', 'sample_negatives']


def sample_negatives(labels: torch.Tensor,
                     generator: Optional[torch.Generator] = None
                     ) -> torch.Tensor:
    """For each clip, the index of a random clip of another class in the
    same batch.

    Args:
        labels (Tensor): ``[B]`` class ids.
        generator (torch.Generator, optional): random source.

    Returns:
        LongTensor ``[B]``: ``idx[i]`` with ``labels[idx[i]] != labels[i]``,
        uniform over the candidates.

    Raises:
        RuntimeError: if some clip has no clip of another class in the batch.
    """
    other = labels[None, :] != labels[:, None]
    if not other.any(dim=1).all():
        raise RuntimeError(
            'AVCA: every batch needs clips of at least two classes to draw '
            'negatives from (use the ClassBalancedSampler), got labels '
            f'{labels.tolist()}')
    return torch.multinomial(other.float(), 1, generator=generator)[:, 0]


@MODELS.register_module()
class AVCA(AVGZSLClassifier):
    """AVCA (Mercea, Riesch, Koepke, Akata, CVPR 2022) with backbone
    ``AVCABackbone`` and head ``AVCAHead`` (docs/baselines.md).

    Same interface as :class:`AVGZSLClassifier`. Training needs a negative
    for every clip (a clip of another class, and that class's text). The
    peer draws it from the whole training set; here it is, by default, a
    random clip of another class from the same batch
    (:func:`sample_negatives`) [I]. Explicit negatives may be given:
    ``inputs['audio_neg']``, ``inputs['video_neg']`` (optional
    ``audio_neg_padding_mask`` / ``video_neg_padding_mask``) and
    ``data_samples['neg_labels']``. Evaluation uses the video branch only
    (``AVCAHead(eval_mode='video')``).
    """

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[dict, List[dict]]:
        pos_inputs = {k: v for k, v in inputs.items()
                      if k in ('audio', 'video', 'audio_padding_mask',
                               'video_padding_mask')}
        if mode != 'loss':
            return super().forward(pos_inputs, data_samples, mode)
        if self.class_embeddings.numel() == 0:
            raise RuntimeError(
                'AVCA: class embeddings are not set; add '
                "dict(type='ClassEmbeddingHook') to custom_hooks or call "
                'model.set_class_embeddings()')
        labels = data_samples['labels']
        self._check_train_labels(labels)
        if 'audio_neg' in inputs:
            neg_inputs = dict(
                audio=inputs['audio_neg'], video=inputs['video_neg'],
                audio_padding_mask=inputs.get('audio_neg_padding_mask'),
                video_padding_mask=inputs.get('video_neg_padding_mask'))
            neg_labels = data_samples['neg_labels']
        else:
            idx = sample_negatives(labels)
            neg_inputs = {k: (v[idx] if v is not None else None)
                          for k, v in pos_inputs.items()}
            neg_labels = labels[idx]
        pos = self.backbone(**pos_inputs)
        neg = self.backbone(**neg_inputs)
        losses = self.head.loss(pos, neg, self.class_embeddings[labels],
                                self.class_embeddings[neg_labels])
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                raise RuntimeError(
                    f'AVCA: {name} is {value.item()} (NaN/Inf); lower the '
                    'learning rate or check the input features')
        return losses

    def _check_train_labels(self, labels: torch.Tensor) -> None:
        ids = self.train_class_ids
        if ids.numel() and not torch.isin(labels, ids).all():
            bad = labels[~torch.isin(labels, ids)].unique().tolist()
            raise RuntimeError(f'AVCA: labels {bad} are not among the '
                               'training classes')

    def train_mode_embedding_pass(self, inputs: Dict[str, torch.Tensor],
                                  data_samples: dict) -> None:
        """Repeats the peer's train-mode ``get_embeddings`` call after each
        optimiser step (no gradient): one more BatchNorm running-statistics
        update of the encoders, ``text_proj`` (clips' class texts) and the
        two projections. Used by ``TrainModeEmbeddingHook``."""
        labels = data_samples['labels']
        pos_inputs = {k: v for k, v in inputs.items()
                      if k in ('audio', 'video', 'audio_padding_mask',
                               'video_padding_mask')}
        with torch.no_grad():
            feats = self.backbone(**pos_inputs)
            self.head.embed(feats, self.class_embeddings[labels])
