"""Every bad input gives one clear DatasetError naming the file/key."""
import csv
import os
import os.path as osp
import pickle

import numpy as np
import pytest
from avgzsl_fixture import EMB, ds_kwargs

from stftbox.datasets import AVGZSLDataset, DatasetError, UnsafePickleError


def _feat(root, m, split, cls, fmt='pkl'):
    return osp.join(root, 'features', 'feat', m, split, f'{cls}.{fmt}')


def _load(path):
    with open(path, 'rb') as f:
        return pickle.load(f)  # our own fixture file, written by the test


def _dump(obj, path):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


class Evil:
    """Unpickling this would run ``os.system``."""

    def __reduce__(self):
        return (os.system, ('echo unpickled',))


class Custom:
    pass


def _one_line(err):
    msg = str(err.value)
    assert '\n' not in msg
    return msg


def test_missing_data_root(tmp_path):
    root = str(tmp_path / 'nowhere' / 'UCF')
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    msg = _one_line(err)
    assert root in msg and 'data root not found' in msg
    assert 'https://s3.mlcloud.uni-tuebingen.de/tcaf-gzsl/' in msg
    assert 'ucf-supervised-temporal.zip' in msg
    assert 'ucf-selavi-temporal.zip' in msg


@pytest.mark.parametrize('name', ['all_class.txt',
                                  'cls_split/stage_1_val_unseen.txt',
                                  'ucf_w2v_class_names.csv'])
def test_missing_class_or_split_file(layout, name):
    root, _ = layout()
    path = osp.join(root, 'class-split', name)
    os.remove(path)
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    assert path in _one_line(err) and 'not found' in str(err.value)


def test_missing_split_folder(layout):
    root, _ = layout()
    with pytest.raises(DatasetError, match='main_split: split folder not '
                       'found'):
        AVGZSLDataset(**ds_kwargs(root, split='main_split'))


def test_csv_class_absent_from_all_class(layout):
    root, _ = layout()
    path = osp.join(root, 'class-split', 'cls_split', 'stage_1_train.csv')
    with open(path, 'a', newline='') as f:
        csv.writer(f).writerow(['v_Durian_000', 'Durian', 9])
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    msg = _one_line(err)
    assert path in msg and "'Durian'" in msg and 'all_class.txt' in msg


def test_split_txt_class_absent_from_all_class(layout):
    root, _ = layout()
    path = osp.join(root, 'class-split', 'cls_split',
                    'stage_2_test_unseen.txt')
    with open(path, 'a') as f:
        f.write('Durian\n')
    with pytest.raises(DatasetError, match="stage_2_test_unseen.txt: class "
                       "'Durian' is not in"):
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))


def test_class_without_text_embedding(layout):
    root, _ = layout()
    path = osp.join(root, 'features', 'feat', 'text',
                    'word_embeddings_ucf_normed.npy')
    emb = {k: v for k, v in EMB.items() if k != 'cherry fruit'}
    np.save(path, np.array(emb, dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    msg = _one_line(err)
    assert path in msg and "no text embedding for class 'Cherry'" in msg


@pytest.mark.parametrize('fmt', ['pkl', 'h5'])
def test_feature_width_mismatch(layout, fmt):
    root, _ = layout(fmt)
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train',
                                  feature_format=fmt, video_channels=7))
    msg = _one_line(err)
    assert _feat(root, 'video', 'stage_1_train', 'Apple', fmt) in msg
    assert 'feature width 6, expected video_channels=7' in msg


@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_nan_inf_features(layout, bad):
    root, _ = layout()
    path = _feat(root, 'audio', 'stage_1_train', 'Banana')
    obj = _load(path)
    obj['features'][1][0, 2] = bad
    _dump(obj, path)
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    msg = _one_line(err)
    assert path in msg and 'NaN/Inf' in msg and obj['video_names'][1] in msg


def test_audio_video_list_different_clips(layout):
    root, _ = layout()
    apath = _feat(root, 'audio', 'stage_1_train', 'Apple')
    vpath = _feat(root, 'video', 'stage_1_train', 'Apple')
    obj = _load(vpath)
    obj['video_names'][0] = 'v_Apple_999'
    _dump(obj, vpath)
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    msg = _one_line(err)
    assert apath in msg and vpath in msg and 'v_Apple_999' in msg


def test_missing_video_file_of_a_class(layout):
    root, _ = layout()
    os.remove(_feat(root, 'video', 'stage_1_train', 'Banana'))
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    assert _feat(root, 'audio', 'stage_1_train', 'Banana') in _one_line(err)
    assert 'no matching video file' in str(err.value)


def test_feature_file_of_unknown_class(layout):
    root, _ = layout()
    src = _feat(root, 'audio', 'stage_1_train', 'Apple')
    dst = _feat(root, 'audio', 'stage_1_train', 'Durian')
    _dump(_load(src), dst)
    with pytest.raises(DatasetError, match="Durian.pkl: class 'Durian' is "
                       'not in'):
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))


def test_empty_split(layout):
    root, _ = layout()
    for m in ('audio', 'video'):
        for cls in ('Apple', 'Banana'):
            os.remove(_feat(root, m, 'stage_1_train', cls))
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    msg = _one_line(err)
    assert 'empty split' in msg and osp.join('audio', 'stage_1_train') in msg


def test_feature_files_without_clips(layout):
    root, _ = layout()
    for m in ('audio', 'video'):
        for cls in ('Apple', 'Banana'):
            _dump(dict(features=[], video_names=[], fps=[]),
                  _feat(root, m, 'stage_1_train', cls))
    with pytest.raises(DatasetError, match='hold no clips'):
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))


@pytest.mark.parametrize('payload,refused', [
    (Evil(), f'{os.system.__module__}.system'),
    (Custom(), f'{__name__}.Custom'),
])
def test_pickle_holding_other_objects(layout, payload, refused):
    root, _ = layout()
    path = _feat(root, 'audio', 'stage_1_val_unseen', 'Cherry')
    obj = _load(path)
    obj['fps'] = [payload] * len(obj['fps'])
    _dump(obj, path)
    with pytest.raises(UnsafePickleError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_val'))
    msg = _one_line(err)
    assert path in msg and f"'{refused}'" in msg and 'refused' in msg


def test_word_embeddings_holding_other_objects(layout):
    root, _ = layout()
    path = osp.join(root, 'features', 'feat', 'text',
                    'word_embeddings_ucf_normed.npy')
    emb = dict(EMB)
    emb['apple fruit'] = Custom()
    np.save(path, np.array(emb, dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError) as err:
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))
    assert path in _one_line(err)
    assert f"'{__name__}.Custom'" in str(err.value)


def test_bad_feature_pickle_structure(layout):
    root, _ = layout()
    path = _feat(root, 'video', 'stage_1_train', 'Apple')
    _dump([np.zeros((2, 6), np.float32)], path)
    with pytest.raises(DatasetError, match="Apple.pkl: expected a dict with "
                       "keys 'features', 'video_names'"):
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train'))


def test_unknown_phase_and_format(layout):
    root, _ = layout()
    with pytest.raises(DatasetError, match="phase 'stage_3'"):
        AVGZSLDataset(**ds_kwargs(root, phase='stage_3'))
    with pytest.raises(DatasetError, match="feature_format 'npz'"):
        AVGZSLDataset(**ds_kwargs(root, feature_format='npz'))
