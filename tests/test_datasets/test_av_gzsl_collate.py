"""av_gzsl_collate: padding, masks and labels (docs/interfaces.md)."""
import pytest
import torch

from stftbox.datasets import av_gzsl_collate
from stftbox.registry import FUNCTIONS


def _clip(t_a, t_v, label, value):
    return dict(audio=torch.full((t_a, 2), float(value)),
                video=torch.full((t_v, 3), float(value)), label=label)


def test_pads_to_batch_max_with_masks():
    collate = FUNCTIONS.get('av_gzsl_collate')
    assert collate is av_gzsl_collate
    out = collate([_clip(2, 5, 4, 1.0), _clip(3, 1, 0, 2.0),
                   _clip(1, 4, 7, 3.0)])
    inp = out['inputs']
    assert set(out) == {'inputs', 'data_samples'}
    assert set(inp) == {'audio', 'video', 'audio_padding_mask',
                        'video_padding_mask'}
    assert inp['audio'].shape == (3, 3, 2) and inp['video'].shape == (3, 5, 3)
    assert inp['audio'].dtype == torch.float32
    assert inp['audio_padding_mask'].dtype == torch.bool
    assert inp['audio_padding_mask'].tolist() == [
        [False, False, True], [False, False, False], [False, True, True]]
    assert inp['video_padding_mask'].tolist() == [
        [False] * 5, [False, True, True, True, True],
        [False, False, False, False, True]]
    # real steps keep their values, padded steps are zero
    assert inp['audio'][:, :, 0].tolist() == [[1, 1, 0], [2, 2, 2],
                                               [3, 0, 0]]
    assert inp['video'][2, :, 1].tolist() == [3, 3, 3, 3, 0]
    labels = out['data_samples']['labels']
    assert labels.dtype == torch.long and labels.tolist() == [4, 0, 7]


def test_rejects_empty_and_mixed_widths():
    with pytest.raises(ValueError, match='empty batch'):
        av_gzsl_collate([])
    bad = _clip(2, 2, 0, 1.0)
    bad['audio'] = torch.zeros(2, 5)
    with pytest.raises(ValueError, match='widths differ'):
        av_gzsl_collate([_clip(2, 2, 0, 1.0), bad])
