"""The surrogate benchmark writer and the text encoder."""
import json
import os
import os.path as osp
import pickle
import re

import numpy as np
import pytest

from stftbox.datasets import AVGZSLDataset, DatasetError, \
    make_surrogate_benchmark
from stftbox.datasets.class_embeddings import encode_class_names
from stftbox.datasets.surrogate import MARKER, bundled_class_split_dir

# a 3-class mini split: A seen, B stage-1 unseen, C stage-2 unseen
MINI = {
    'stage_1_train': {'Archery': 4},
    'stage_1_val_seen': {'Archery': 1},
    'stage_1_val_unseen': {'Bowling': 3},
    'stage_2_train': {'Archery': 5, 'Bowling': 3},
    'stage_2_test_seen': {'Archery': 1, 'Bowling': 1},
    'stage_2_test_unseen': {'Diving': 3},
}


def write_mini_split(root):
    cs = osp.join(root, 'class-split')
    os.makedirs(osp.join(cs, 'cls_split'))
    with open(osp.join(cs, 'all_class.txt'), 'w') as f:
        f.write('Diving\nArchery\nBowling\n')
    with open(osp.join(cs, 'ucf_w2v_class_names.csv'), 'w') as f:
        f.write('original,manual\nArchery,Archery\nBowling,Bowling\n'
                'Diving,Diving\n')
    for split, per in MINI.items():
        with open(osp.join(cs, 'cls_split', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(per) + '\n')
        with open(osp.join(cs, 'cls_split', f'{split}.csv'), 'w') as f:
            f.write('filename,label,label_code\n')
            for cls, n in per.items():
                for k in range(n):
                    f.write(f'v_{cls}_{split}_{k},{cls},0\n')
    return cs


def fake_encoder(names):
    """Cheap deterministic stand-in for MiniLM (tests of the writer)."""
    out = np.stack([np.random.default_rng(sum(map(ord, n))).standard_normal(
        16) for n in names]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_text_encoder_minilm():
    e = encode_class_names(['Apply Eye Makeup', 'Playing Guitar'])
    assert e.shape == (2, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert abs(float(e[0] @ e[1])) < 0.9  # different names, different


def test_surrogate_layout_loads(tmp_path):
    cs = write_mini_split(str(tmp_path / 'src'))
    root = make_surrogate_benchmark(str(tmp_path / 'bench'), dataset='UCF',
                                    seed=3, class_split_dir=cs,
                                    max_clips_per_class=2)
    assert root == str(tmp_path / 'bench' / 'UCF')
    feat = osp.join(root, 'features', 'surrogate_temporal')
    emb = np.load(osp.join(feat, 'text', 'word_embeddings_ucf_normed.npy'),
                  allow_pickle=True).item()  # our own file: safe here
    assert sorted(emb) == ['Archery', 'Bowling', 'Diving']
    assert emb['Archery'].shape == (384, )  # real MiniLM embeddings
    with open(osp.join(feat, 'audio', 'stage_1_train', 'Archery.pkl'),
              'rb') as f:
        obj = pickle.load(f)
    assert obj['video_names'] == ['v_Archery_stage_1_train_0',
                                  'v_Archery_stage_1_train_1']
    assert all(4 <= a.shape[0] <= 8 and a.shape[1] == 128
               for a in obj['features'])
    assert obj['fps'] == [pytest.approx(1 / 0.96)] * 2
    kw = dict(data_root=root, dataset_name='UCF',
              feature_method='surrogate_temporal', split='cls_split',
              audio_channels=128, video_channels=512, test_mode=True)
    sizes = {}
    for phase in ('stage_1_train', 'stage_1_val', 'stage_2_train',
                  'stage_2_test'):
        ds = AVGZSLDataset(phase=phase, **kw)
        sizes[phase] = len(ds)
        s = ds[0]
        assert s['audio'].shape[1] == 128 and s['video'].shape[1] == 512
        # same duration at 0.96 s and 0.64 s a step
        assert 6 <= s['video'].shape[0] <= 12
        assert abs(s['audio'].shape[0] * 0.96 - s['video'].shape[0] * 0.64
                   ) < 0.96 + 1e-6
    assert sizes == dict(stage_1_train=2, stage_1_val=3, stage_2_train=5,
                         stage_2_test=4)
    meta = ds.metainfo
    assert meta['classes'] == ('Archery', 'Bowling', 'Diving')
    assert meta['seen_class_ids'] == [0, 1] and meta['unseen_class_ids'] == [2]
    assert meta['class_embeddings'].shape == (3, 384)
    with open(osp.join(root, MARKER)) as f:
        assert json.load(f)['num_clips'] == 2 + 1 + 2 + 2 + 2  # 5 folders


def test_prepare_hook_determinism_and_skip(tmp_path, monkeypatch):
    monkeypatch.setenv('STFTBOX_HOME', str(tmp_path))  # made in the cache
    cs = write_mini_split(str(tmp_path / 'src'))
    root = str(tmp_path / 'data' / 'UCF')
    prepare = dict(type='make_surrogate_avgzsl', seed=5, class_split_dir=cs,
                   text_encoder=fake_encoder, audio_channels=8,
                   video_channels=12)
    kw = dict(dataset_name='UCF', feature_method='surrogate_temporal',
              audio_channels=8, video_channels=12, phase='stage_1_val',
              test_mode=True)
    ds = AVGZSLDataset(data_root=root, prepare=prepare, **kw)
    assert len(ds) == 1 + 3 and osp.isfile(osp.join(root, MARKER))
    # same seed elsewhere -> identical features; other seed -> different
    other = str(tmp_path / 'again' / 'UCF')
    AVGZSLDataset(data_root=other, prepare=prepare, **kw)
    third = str(tmp_path / 'seed6' / 'UCF')
    AVGZSLDataset(data_root=third, prepare=dict(prepare, seed=6), **kw)
    rel = osp.join('features', 'surrogate_temporal', 'video',
                   'stage_1_val_unseen', 'Bowling.pkl')

    def feats(r):
        with open(osp.join(r, rel), 'rb') as f:
            return pickle.load(f)['features']

    assert all(np.array_equal(a, b) for a, b in zip(feats(root),
                                                    feats(other)))
    assert not np.array_equal(feats(root)[0], feats(third)[0])
    # a second call with the same parameters does nothing
    mtime = os.stat(osp.join(root, rel)).st_mtime_ns
    make_surrogate_benchmark(str(tmp_path / 'data'), seed=5,
                             audio_channels=8, video_channels=12,
                             class_split_dir=cs, text_encoder=fake_encoder)
    assert os.stat(osp.join(root, rel)).st_mtime_ns == mtime
    with pytest.raises(DatasetError, match='other parameters'):
        make_surrogate_benchmark(str(tmp_path / 'data'), seed=9,
                                 class_split_dir=cs,
                                 text_encoder=fake_encoder)
    # no leftovers of the atomic write
    assert sorted(os.listdir(tmp_path / 'data')) == ['UCF']


def test_bundled_ucf_split_and_licence():
    cs = bundled_class_split_dir('UCF')
    assert osp.isfile(osp.join(cs, 'all_class.txt'))
    for split in ('cls_split', 'main_split'):
        assert len(os.listdir(osp.join(cs, split))) == 12
    with open(osp.join(cs, 'LICENSE')) as f:
        text = f.read()
    assert 'MIT License' in text and 'Mercea' in text
    with pytest.raises(DatasetError, match='no bundled class-split'):
        bundled_class_split_dir('VGGSound')


def test_prepare_never_generates_outside_the_stftbox_cache(tmp_path,
                                                           monkeypatch):
    # a mistyped data_root of the surrogate config: the missing-data error,
    # not synthetic data at that place
    monkeypatch.setenv('STFTBOX_HOME', str(tmp_path / 'home'))
    cs = write_mini_split(str(tmp_path / 'src'))
    prepare = dict(type='make_surrogate_avgzsl', seed=5, class_split_dir=cs,
                   text_encoder=fake_encoder, audio_channels=8,
                   video_channels=12)
    kw = dict(dataset_name='UCF', feature_method='surrogate_temporal',
              audio_channels=8, video_channels=12, phase='stage_1_val',
              test_mode=True)
    wrong = tmp_path / 'typo' / 'UCF'
    with pytest.raises(DatasetError, match=r'^' + re.escape(
            f'{wrong}: data root not found; expected the')) as err:
        AVGZSLDataset(data_root=str(wrong), prepare=prepare, **kw)
    assert '\n' not in str(err.value)
    assert not (tmp_path / 'typo').exists()
    # a link into the cache counts as the cache; '..' out of it does not
    inside = tmp_path / 'home' / 'data' / 'UCF'
    AVGZSLDataset(data_root=str(inside), prepare=prepare, **kw)
    assert osp.isfile(osp.join(inside, MARKER))
    escape = str(tmp_path / 'home' / '..' / 'out' / 'UCF')
    with pytest.raises(DatasetError, match='data root not found'):
        AVGZSLDataset(data_root=escape, prepare=prepare, **kw)
    assert not (tmp_path / 'out').exists()
