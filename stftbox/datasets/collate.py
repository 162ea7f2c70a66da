"""``av_gzsl_collate``: pad a list of clips into a batch
(docs/interfaces.md, "Dataset -> collate -> model")."""
from typing import List, Sequence, Tuple

import torch

from stftbox.registry import FUNCTIONS

__all__ = ['av_gzsl_collate', 'pad_sequences']


def pad_sequences(seqs: Sequence[torch.Tensor]
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad ``[T_i, D]`` tensors to ``[B, T_max, D]``.

    Returns:
        (padded, mask): float32 ``[B, T_max, D]`` and bool ``[B, T_max]``,
        ``True`` where a step is padding (PyTorch ``key_padding_mask``).

    Raises:
        ValueError: empty list, a tensor not 2-D, or different widths.
    """
    if not seqs:
        raise ValueError('av_gzsl_collate: empty batch')
    seqs = [torch.as_tensor(s, dtype=torch.float32) for s in seqs]
    if any(s.dim() != 2 for s in seqs):
        raise ValueError('av_gzsl_collate: expected [T, D] features, got '
                         f'shapes {[tuple(s.shape) for s in seqs]}')
    dims = {s.shape[1] for s in seqs}
    if len(dims) != 1:
        raise ValueError(f'av_gzsl_collate: feature widths differ {dims}')
    t_max = max(s.shape[0] for s in seqs)
    out = seqs[0].new_zeros((len(seqs), t_max, dims.pop()))
    mask = torch.ones((len(seqs), t_max), dtype=torch.bool)
    for i, s in enumerate(seqs):
        out[i, :s.shape[0]] = s
        mask[i, :s.shape[0]] = False
    return out, mask


@FUNCTIONS.register_module(name='av_gzsl_collate')
def av_gzsl_collate(data_batch: List[dict]) -> dict:
    """Batch the dicts of :class:`~stftbox.datasets.AVGZSLDataset`.

    Args:
        data_batch: ``B`` dicts ``audio [T_a, D_a]``, ``video [T_v, D_v]``,
            ``label`` (int).

    Returns:
        ``dict(inputs=dict(audio=[B, T_a_max, D_a], video=[B, T_v_max, D_v],
        audio_padding_mask=[B, T_a_max] bool, video_padding_mask=[B,
        T_v_max] bool), data_samples=dict(labels=LongTensor[B]))``; padding
        is zeros, mask ``True`` = padded step.

    Raises:
        ValueError: empty batch, inconsistent widths or non 2-D features.
    """
    audio, a_mask = pad_sequences([d['audio'] for d in data_batch])
    video, v_mask = pad_sequences([d['video'] for d in data_batch])
    labels = torch.as_tensor([int(d['label']) for d in data_batch],
                             dtype=torch.long)
    return dict(inputs=dict(audio=audio, video=video,
                            audio_padding_mask=a_mask,
                            video_padding_mask=v_mask),
                data_samples=dict(labels=labels))

