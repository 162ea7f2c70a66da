"""AVGZSLDataset on a tiny fixture in the real layout (avgzsl_fixture.py)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from avgzsl_fixture import D_A, D_T, D_V, EMB, ID, MANUAL, ds_kwargs

from stftbox.datasets import AVGZSLDataset, aligned_crop
from stftbox.datasets import feature_cache as fc
from stftbox.registry import DATASETS

# phase -> (seen class names, unseen class names, {class: clips})
EXPECTED = {
    'stage_1_train': (['Apple', 'Banana'], [], {'Apple': 3, 'Banana': 2}),
    'stage_1_val': (['Apple', 'Banana'], ['Cherry'],
                    {'Apple': 1, 'Banana': 1, 'Cherry': 2}),
    'stage_2_train': (['Apple', 'Banana', 'Cherry'], [],
                      {'Apple': 4, 'Banana': 3, 'Cherry': 2}),
    'stage_2_test': (['Apple', 'Banana', 'Cherry'], ['Mango'],
                     {'Apple': 1, 'Banana': 1, 'Cherry': 1, 'Mango': 2}),
}


def _clip_id(x):
    """Clip number k stored in a feature tensor (k + t/1000)."""
    return int(np.floor(float(x[0, 0]) + 1e-4))


def _step(x, i=0):
    return int(round((float(x[i, 0]) % 1) * 1000))


@pytest.mark.parametrize('fmt', ['pkl', 'h5'])
def test_phases_ids_counts_and_dropping(layout, fmt):
    root, clips = layout(fmt)
    for phase, (seen, unseen, counts) in EXPECTED.items():
        ds = AVGZSLDataset(**ds_kwargs(root, phase=phase,
                                       feature_format=fmt, test_mode=True))
        meta = ds.metainfo
        assert meta['seen_class_ids'] == [ID[c] for c in seen]
        assert meta['unseen_class_ids'] == [ID[c] for c in unseen]
        assert len(ds) == sum(counts.values())
        got = np.bincount(ds.labels, minlength=6)
        assert got.tolist() == [counts.get(c, 0) for c in sorted(ID)]
        assert ID['Kiwi'] not in ds.labels  # Kiwi is in no list: dropped
        for i in range(len(ds)):
            s = ds[i]
            assert set(s) == {'audio', 'video', 'label'}
            assert s['audio'].dtype == torch.float32
            k = _clip_id(s['audio'])
            name = ds.clip_names[i]
            # label from the file's class, audio/video of the same clip
            assert clips[name] == (ds.metainfo['classes'][s['label']], k)
            assert _clip_id(s['video']) == k
            if fmt == 'h5':
                assert s['audio'].shape == (1, D_A)
                assert s['video'].shape == (1, D_V)
            else:
                assert s['audio'].shape[1] == D_A
                assert s['video'].shape[1] == D_V


def test_metainfo_classes_and_embeddings(layout):
    root, _ = layout()
    ds = DATASETS.build(dict(type='AVGZSLDataset',
                             **ds_kwargs(root, phase='stage_1_val')))
    meta = ds.metainfo
    assert set(meta) == {'classes', 'class_embeddings', 'seen_class_ids',
                         'unseen_class_ids', 'dataset_name', 'phase'}
    assert meta['classes'] == ('Apple', 'Banana', 'Cherry', 'Kiwi', 'Mango',
                               'Zebra')
    assert meta['dataset_name'] == 'UCF' and meta['phase'] == 'stage_1_val'
    emb = meta['class_embeddings']
    assert emb.dtype == np.float32 and emb.shape == (6, D_T)
    for cid, cls in enumerate(meta['classes']):
        if cls in ('Kiwi', 'Zebra'):  # in no list of the split
            assert not emb[cid].any()
        else:
            v = EMB[MANUAL[cls]]
            np.testing.assert_allclose(emb[cid], v / np.linalg.norm(v),
                                       rtol=1e-6)
    emb[:] = 1  # a copy: the dataset's own matrix is unchanged
    assert ds.metainfo['class_embeddings'][ID['Zebra']].sum() == 0


def test_aligned_crop_window_and_alignment():
    # 96 s of audio (100 x 0.96) and video (150 x 0.64), at most 60 steps
    (a0, na), (v0, nv) = aligned_crop(100, 150, 60, 0.96, 0.64, None)
    assert (na, nv) == (40, 60)  # 38.4 s window: 40 audio, 60 video steps
    assert (a0, v0) == (30, 45)  # centre: t0 = (96 - 38.4) / 2
    for pos in np.linspace(0, 1, 11):
        (a0, na), (v0, nv) = aligned_crop(100, 150, 60, 0.96, 0.64, pos)
        assert (na, nv) == (40, 60)
        assert 0 <= a0 <= 60 and 0 <= v0 <= 90
        assert abs(a0 * 0.96 - v0 * 0.64) <= (0.96 + 0.64) / 2 + 1e-9
    # short clips are kept whole
    assert aligned_crop(10, 15, 60, 0.96, 0.64, 0.5) == ((0, 10), (0, 15))
    assert aligned_crop(70, 70, None, 1, 1, 0.5) == ((0, 70), (0, 70))


def test_random_and_center_crop_in_dataset(layout):
    # every clip: 30 audio steps (28.8 s) and 45 video steps (28.8 s)
    root, _ = layout(long_clips=(30, 45))
    train = AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train',
                                      max_steps=12))
    torch.manual_seed(0)
    starts = set()
    for _ in range(20):
        s = train[0]
        assert s['audio'].shape == (8, D_A)  # 12 * 0.64 / 0.96 = 8 steps
        assert s['video'].shape == (12, D_V)
        a0, v0 = _step(s['audio']), _step(s['video'])
        assert abs(a0 * 0.96 - v0 * 0.64) <= 0.8 + 1e-9  # aligned in time
        # consecutive steps
        assert [_step(s['video'], i) for i in range(12)] == list(
            range(v0, v0 + 12))
        starts.add(v0)
    assert len(starts) > 3  # random positions
    test = AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train',
                                     test_mode=True, eval_max_steps=12))
    (ea, na), (ev, nv) = aligned_crop(30, 45, 12, 0.96, 0.64, None)
    for _ in range(3):
        s = test[1]
        assert s['audio'].shape[0] == na and s['video'].shape[0] == nv
        assert (_step(s['audio']), _step(s['video'])) == (ea, ev)
    # without a limit the whole clip comes back
    full = AVGZSLDataset(**ds_kwargs(root, phase='stage_1_train',
                                     test_mode=True, eval_max_steps=None))
    assert full[0]['audio'].shape[0] == 30
    assert full[0]['video'].shape[0] == 45


def test_cache_created_once_reused_and_memmapped(layout, tmp_path,
                                                 monkeypatch):
    root, _ = layout()
    cache_dir = str(tmp_path / 'cache')
    ds1 = AVGZSLDataset(**ds_kwargs(root, phase='stage_1_val',
                                    cache_dir=cache_dir))
    entries = os.listdir(cache_dir)
    assert len(entries) == 1 and not entries[0].startswith('.tmp')
    assert sorted(os.listdir(osp.join(cache_dir, entries[0]))) == sorted(
        fc.FeatureCache.FILES)
    first = [ds1[i]['audio'] for i in range(len(ds1))]

    def boom(*a, **k):
        raise AssertionError('feature files parsed again')

    monkeypatch.setattr(fc, 'read_feature_file', boom)
    ds2 = AVGZSLDataset(**ds_kwargs(root, phase='stage_1_val',
                                    cache_dir=cache_dir))
    assert isinstance(ds2.cache.audio, np.memmap)
    assert isinstance(ds2.cache.video, np.memmap)
    for i, a in enumerate(first):
        assert torch.equal(ds2[i]['audio'], a)
    assert os.listdir(cache_dir) == entries
    # an edited source file changes the fingerprint -> parsed again
    src = osp.join(root, 'features', 'feat', 'audio', 'stage_1_val_unseen',
                   'Cherry.pkl')
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match='parsed again'):
        AVGZSLDataset(**ds_kwargs(root, phase='stage_1_val',
                                  cache_dir=cache_dir))


def test_default_cache_dir_and_dataloader_workers(layout):
    from torch.utils.data import DataLoader

    from stftbox.datasets import av_gzsl_collate
    root, _ = layout()
    ds = AVGZSLDataset(**ds_kwargs(root, phase='stage_2_train',
                                   test_mode=True))
    assert osp.isdir(osp.join(root, '.stftbox_cache'))
    loader = DataLoader(ds, batch_size=4, num_workers=1,
                        collate_fn=av_gzsl_collate)
    labels = torch.cat([b['data_samples']['labels'] for b in loader])
    assert labels.tolist() == ds.labels.tolist()


def test_mmengine_runner_builds_the_dataloader(layout):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    root, _ = layout()
    cfg = dict(batch_size=4, num_workers=0,
               sampler=dict(type='ClassBalancedSampler', batch_size=4,
                            num_batches=3),
               collate_fn=dict(type='stftbox.av_gzsl_collate'),
               dataset=dict(type='AVGZSLDataset',
                            **ds_kwargs(root, phase='stage_2_train')))
    with DefaultScope.overwrite_default_scope('stftbox'):
        loader = Runner.build_dataloader(cfg, seed=0)
    batches = list(loader)
    assert len(batches) == 3
    for b in batches:
        labels = b['data_samples']['labels'].tolist()
        # 4 = min(3 classes, 4) -> 3 classes x 1 + 1 extra clip
        assert sorted(np.bincount(labels, minlength=3)[:3].tolist()) == [
            1, 1, 2]
        assert b['inputs']['audio'].shape[0] == 4
