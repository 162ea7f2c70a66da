"""Whole audio-visual GZSL model: backbone + GZSL head."""
import inspect
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel

from stftbox.registry import MODELS


@MODELS.register_module()
class AVGZSLClassifier(BaseModel):
    """Audio-visual GZSL model (mmengine ``BaseModel``).

    ``backbone`` embeds a clip, ``head`` projects clip and class-name
    embeddings into one space (docs/interfaces.md). The class text embeddings
    are not parameters: ``ClassEmbeddingHook`` hands them over from the
    dataset with :meth:`set_class_embeddings` before training, validation
    and testing (they are not saved in checkpoints).

    Args:
        backbone (dict): MODELS config; ``backbone(audio, video,
            audio_padding_mask, video_padding_mask)`` returns a dict with
            ``embedding`` ``[B, E_in]`` and optionally ``losses``.
        head (dict): MODELS config of a head with ``loss`` and ``predict``
            (e.g. ``GZSLHead``).
        data_preprocessor (dict, optional): mmengine data preprocessor.
        init_cfg (dict, optional): mmengine weight init config.
    """

    def __init__(self, backbone: dict, head: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        # backbones that can skip their auxiliary losses when predicting
        self._skips_losses = 'with_losses' in inspect.signature(
            self.backbone.forward).parameters
        self.register_buffer('class_embeddings', torch.zeros(0, 0),
                             persistent=False)
        self.register_buffer('train_class_ids',
                             torch.zeros(0, dtype=torch.long),
                             persistent=False)

    def set_class_embeddings(self, embeddings,
                             train_class_ids=None) -> None:
        """Set the class text embeddings.

        Args:
            embeddings (array-like): ``[C_all, D_t]`` one row per class id
                (order of ``all_class.txt``).
            train_class_ids (sequence of int, optional): the classes that
                training clips may belong to; the losses only use these
                classes (unseen classes never leak into training).
        """
        param = next(self.parameters())
        self.class_embeddings = torch.as_tensor(
            embeddings, dtype=param.dtype, device=param.device)
        if train_class_ids is not None:
            self.train_class_ids = torch.as_tensor(
                list(train_class_ids), dtype=torch.long, device=param.device)

    def extract_feat(self, inputs: Dict[str, torch.Tensor],
                     with_losses: bool = True) -> dict:
        """Backbone output for ``inputs`` (docs/interfaces.md);
        ``with_losses=False`` lets a backbone whose ``forward`` takes
        ``with_losses`` skip its auxiliary losses."""
        if not with_losses and self._skips_losses:
            return self.backbone(**inputs, with_losses=False)
        return self.backbone(**inputs)

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[dict, List[dict]]:
        """mmengine entry point.

        Args:
            inputs (dict): ``audio`` ``[B, T_a, D_a]``, ``video``
                ``[B, T_v, D_v]``, ``audio_padding_mask`` ``[B, T_a]``,
                ``video_padding_mask`` ``[B, T_v]`` (True = padded).
            data_samples (dict, optional): ``labels`` ``[B]`` class ids.
            mode (str): ``'loss'`` -> dict of losses; ``'predict'`` -> list
                of ``dict(distances=[C_all], gt_label=int)``; ``'tensor'`` ->
                backbone dict.

        Raises:
            RuntimeError: if class embeddings were not set, a label is not a
                training class, or a loss is NaN/Inf.
            ValueError: for an unknown ``mode``.
        """
        feats = self.extract_feat(inputs, with_losses=mode != 'predict')
        if mode == 'tensor':
            return feats
        if self.class_embeddings.numel() == 0:
            raise RuntimeError(
                'AVGZSLClassifier: class embeddings are not set; add '
                "dict(type='ClassEmbeddingHook') to custom_hooks or call "
                'model.set_class_embeddings()')
        labels = data_samples['labels'] if data_samples else None
        if mode == 'loss':
            return self.loss(feats, labels)
        if mode == 'predict':
            dist = self.head.predict(feats, self.class_embeddings)
            gts = labels.tolist() if labels is not None else [-1] * len(dist)
            return [dict(distances=d, gt_label=g)
                    for d, g in zip(dist.detach(), gts)]
        raise ValueError(f'AVGZSLClassifier: unknown mode {mode!r}, expected '
                         "'loss', 'predict' or 'tensor'")

    def loss(self, feats: dict, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Head losses on the training classes plus backbone aux losses."""
        ids = self.train_class_ids
        if ids.numel() == 0:
            ids = torch.arange(len(self.class_embeddings),
                               device=labels.device)
        lookup = torch.full((len(self.class_embeddings),), -1,
                            dtype=torch.long, device=labels.device)
        lookup[ids] = torch.arange(len(ids), device=labels.device)
        targets = lookup[labels]
        if (targets < 0).any():
            bad = labels[targets < 0].unique().tolist()
            raise RuntimeError(f'AVGZSLClassifier: labels {bad} are not among '
                               'the training classes')
        losses = self.head.loss(feats, self.class_embeddings[ids], targets)
        losses.update(feats.get('losses', {}))
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                raise RuntimeError(
                    f'AVGZSLClassifier: {name} is {value.item()} (NaN/Inf); '
                    'lower the learning rate or check the input features')
        return losses


@MODELS.register_module()
class STFT(AVGZSLClassifier):
    """Spiking Tucker Fusion Transformer (Li, Wang, Xiong, Fan, IEEE TIP 33,
    2024, arXiv 2407.08130): an :class:`AVGZSLClassifier` whose backbone is
    ``STFTBackbone`` (SNN branch + transformer branch + temporal-semantic
    Tucker fusion). Same arguments and outputs as the parent class."""

    def __init__(self, backbone: dict, head: dict, **kwargs) -> None:
        super().__init__(backbone=backbone, head=head, **kwargs)
