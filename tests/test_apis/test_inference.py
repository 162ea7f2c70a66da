"""stftbox.apis.init_model / inference_model: checkpoint loading, shapes,
ranking, agreement with the dataset (test) path, new class names, the
word2vec error and user-supplied embeddings, feature-file input."""
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch

from stftbox.apis import inference_model, init_model
from stftbox.apis.inference import (ClassNameEncoderError, embed_clips,
                                    load_clip_features,
                                    project_class_embeddings)
from stftbox.datasets import DatasetError
from stftbox.datasets.class_splits import read_w2v_names
from stftbox.datasets.surrogate import bundled_class_split_dir
from stftbox.fileio import CheckpointError, safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'stft_demo.py')
DEMO_CKPT = osp.join(REPO, 'checkpoints', 'stft_demo_ucf_surrogate.pth')


def clips(n, seed=0, lengths=((4, 6), (6, 9), (8, 12))):
    rng = np.random.default_rng(seed)
    a = [rng.standard_normal((ta, 128)).astype(np.float32)
         for ta, _ in lengths[:n]]
    v = [rng.standard_normal((tv, 512)).astype(np.float32)
         for _, tv in lengths[:n]]
    return a, v


def dataset_path_distances(model, audio, video):
    """[C_all] distances through model(inputs, mode='predict'), as in
    testing (class embeddings of the checkpoint's dataset meta)."""
    inputs = dict(audio=torch.from_numpy(audio[None]),
                  video=torch.from_numpy(video[None]),
                  audio_padding_mask=torch.zeros(1, len(audio), dtype=bool),
                  video_padding_mask=torch.zeros(1, len(video), dtype=bool))
    with torch.no_grad():
        return model(inputs, mode='predict')[0]['distances'].numpy()


def test_init_model_loads_checkpoint(demo_model):
    state = safe_torch_load(DEMO_CKPT)['state_dict']
    own = demo_model.state_dict()
    assert set(state) == set(own)
    for k, v in state.items():
        assert torch.equal(own[k], v), k
    assert not demo_model.training
    meta = demo_model.dataset_meta
    assert len(meta['classes']) == 101
    assert tuple(demo_model.class_embeddings.shape) == (101, 384)
    assert 0.0 <= demo_model.calibration['beta'] <= 3.0


def test_init_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        init_model(str(tmp_path / 'nope.py'))
    with pytest.raises(TypeError, match='Config'):
        init_model(42)
    with pytest.raises(CheckpointError, match='shape mismatch'):
        init_model(DEMO_CONFIG, DEMO_CKPT,
                   cfg_options={'model.head.embed_dims': 32})


def test_single_clip_and_batch(demo_model):
    a, v = clips(3)
    single = inference_model(demo_model, a[0], v[0], topk=3)
    assert isinstance(single, dict)
    batch = inference_model(demo_model, a, v, topk=3)
    assert isinstance(batch, list) and len(batch) == 3
    n_train = len(single['class_names'])
    assert n_train == int((np.abs(demo_model.dataset_meta[
        'class_embeddings']).sum(1) > 0).sum())
    for res in batch:
        assert res['distances'].shape == (n_train,)
        assert res['seen'].shape == (n_train,)
        assert len(res['topk_classes']) == 3
    # padding a batch of different lengths changes nothing
    np.testing.assert_allclose(batch[0]['distances'], single['distances'],
                               atol=1e-5)
    # [B, T, D] arrays give the same as a list of clips
    same = inference_model(demo_model, np.stack([a[1], a[1]]),
                           np.stack([v[1], v[1]]))
    np.testing.assert_allclose(same[0]['distances'], batch[1]['distances'],
                               atol=1e-5)


def test_ranking_is_argsort_of_distances(demo_model):
    a, v = clips(2, seed=1)
    for res in inference_model(demo_model, a, v, topk=7, beta=0.0):
        d = res['distances']
        order = np.argsort(d, kind='stable')[:7]
        assert res['topk_indices'] == order.tolist()
        np.testing.assert_allclose(res['topk_distances'], d[order])
        assert np.all(np.diff(res['topk_distances']) >= 0)
        assert res['pred_index'] == int(np.argmin(d))
        assert res['pred_class'] == res['class_names'][int(np.argmin(d))]
    # more than the candidates: all of them, and it is said
    with pytest.warns(UserWarning, match=r'topk=1000000 but there are only '
                      r'\d+ candidate classes'):
        res = inference_model(demo_model, a[0], v[0], topk=10 ** 6)
    assert len(res['topk_indices']) == len(res['class_names'])


def test_default_beta_is_the_checkpoints(demo_model):
    # like tools/test.py: the beta chosen on validation, stored in the
    # checkpoint's meta, ranks the classes unless beta= is given
    beta = demo_model.calibration['beta']
    assert beta > 0
    a, v = clips(1, seed=5)
    res = inference_model(demo_model, a[0], v[0], topk=5)
    assert res['beta'] == pytest.approx(beta)
    cal = res['distances'] + beta * res['seen']
    order = np.argsort(cal, kind='stable')[:5]
    assert res['topk_indices'] == order.tolist()
    np.testing.assert_allclose(res['topk_distances'], cal[order], rtol=1e-6)
    assert inference_model(demo_model, a[0], v[0], beta=0.0)['beta'] == 0.0


def test_checkpoint_class_names_use_their_training_embeddings(demo_model):
    # case 44: all_class.txt spells 'ApplyEyeMakeup', training embedded
    # 'Apply Eye Makeup'; either spelling is the checkpoint's class and gets
    # its training embedding (same distances as class_names=None)
    a, v = clips(3, seed=6)
    ref = inference_model(demo_model, a, v, class_names=None, topk=1)
    names = ref[0]['class_names']
    assert 'ApplyEyeMakeup' in names
    got = inference_model(demo_model, a, v, class_names=names, topk=1)
    spaced = [re.sub(r'(?<=[a-z])(?=[A-Z])', ' ', n) for n in names]
    assert 'Apply Eye Makeup' in spaced
    got2 = inference_model(demo_model, a, v, class_names=spaced, topk=1)
    for r, g, g2 in zip(ref, got, got2):
        np.testing.assert_array_equal(g['distances'], r['distances'])
        np.testing.assert_array_equal(g2['distances'], r['distances'])
        assert g['pred_index'] == r['pred_index']
    # a new name next to them is still encoded on the fly
    mixed = inference_model(demo_model, a[0], v[0],
                            class_names=['ApplyEyeMakeup', 'a theremin'])
    i = names.index('ApplyEyeMakeup')
    assert mixed['distances'][0] == pytest.approx(ref[0]['distances'][i],
                                                  rel=1e-5)
    assert np.isfinite(mixed['distances'][1])


@pytest.mark.parametrize('names,shown', [
    (['Archery', 'Surfing', 'Archery'], "'Archery' 2 times"),
    (['Archery', 'Surfing', 'archery', 'ARCHERY'],
     "'Archery' 3 times (as ['ARCHERY', 'Archery', 'archery'])"),
    (['Apply Eye Makeup', 'ApplyEyeMakeup'], "'Apply Eye Makeup' 2 times"),
])
def test_duplicate_class_names_refused(demo_model, names, shown):
    # case 45: copies share one embedding, fill top-k slots and can never
    # be predicted; refused, naming the class
    a, v = clips(1)
    with pytest.raises(ValueError, match=re.escape(shown)):
        inference_model(demo_model, a[0], v[0], class_names=names)
    # also as labels of given class embeddings
    emb = np.eye(len(names), 384, dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape(shown)):
        inference_model(demo_model, a[0], v[0], class_names=names,
                        class_embeddings=emb)


def test_default_classes_match_dataset_path(demo_model):
    a, v = clips(1, seed=2)
    res = inference_model(demo_model, a[0], v[0])
    full = dataset_path_distances(demo_model, a[0], v[0])
    meta = demo_model.dataset_meta
    ids = [meta['classes'].index(n) for n in res['class_names']]
    np.testing.assert_allclose(res['distances'], full[ids], atol=1e-5)
    # the split's classes with an embedding: its seen classes flagged seen,
    # the unseen (test) classes not
    seen = set(meta['seen_class_ids'])
    assert res['seen'].tolist() == [i in seen for i in ids]
    assert 0 < res['seen'].sum() < len(ids)


def test_names_embedded_on_the_fly_rank_like_dataset_path(demo_model):
    """The manual names of the training classes, embedded now with the
    bundled MiniLM, give the distances of the stored class embeddings."""
    manual = dict(read_w2v_names(osp.join(bundled_class_split_dir('UCF'),
                                          'ucf_w2v_class_names.csv')))
    meta = demo_model.dataset_meta
    ids = [i for i in meta['seen_class_ids']][:12]
    names = [manual[meta['classes'][i]] for i in ids]
    a, v = clips(2, seed=3)
    got = inference_model(demo_model, a, v, class_names=names, topk=12)
    for res, aa, vv in zip(got, a, v):
        want = dataset_path_distances(demo_model, aa, vv)[ids]
        np.testing.assert_allclose(res['distances'], want, atol=1e-3)
        assert res['topk_indices'] == np.argsort(want).tolist()
        assert res['seen'].all()  # 'Apply Eye Makeup' ~ 'ApplyEyeMakeup'


def test_new_class_names_and_calibration(demo_model):
    names = ['playing the theremin', 'a dog barking at the mailman',
             'Surfing']
    a, v = clips(1, seed=4)
    res = inference_model(demo_model, a[0], v[0], class_names=names)
    assert res['class_names'] == names
    assert res['seen'].tolist() == [False, False, True]
    assert np.isfinite(res['distances']).all()
    assert (res['distances'] > 0).all()
    # a huge beta pushes the seen class to the last rank, distances shift
    cal = inference_model(demo_model, a[0], v[0], class_names=names,
                          beta=1000.0)
    assert cal['topk_indices'][-1] == 2
    assert cal['topk_distances'][-1] == pytest.approx(
        res['distances'][2] + 1000.0, rel=1e-6)
    np.testing.assert_allclose(cal['distances'], res['distances'])


def test_word2vec_model_needs_embeddings():
    model = init_model(DEMO_CONFIG,
                       cfg_options={'model.head.text_channels': 300})
    a, v = clips(1)
    with pytest.raises(ClassNameEncoderError,
                       match=r'(?s)300-d.*word2vec.*class_embeddings='):
        inference_model(model, a[0], v[0], class_names=['a', 'b'])
    emb = np.random.default_rng(0).standard_normal((3, 300))
    res = inference_model(model, a[0], v[0], class_names=['x', 'y', 'z'],
                          class_embeddings=emb, topk=2)
    assert res['distances'].shape == (3,)
    cls = project_class_embeddings(model, emb)
    av = embed_clips(model, a[0], v[0])
    np.testing.assert_allclose(
        res['distances'], np.linalg.norm(av[0][None] - cls, axis=1),
        rtol=1e-4, atol=1e-5)
    unnamed = inference_model(model, a[0], v[0], class_embeddings=emb)
    assert unnamed['class_names'] == ['class_0', 'class_1', 'class_2']
    with pytest.raises(ValueError, match=r'\[C, 300\]'):
        inference_model(model, a[0], v[0], class_embeddings=emb[:, :200])
    with pytest.raises(ValueError, match='3 rows but 2'):
        inference_model(model, a[0], v[0], class_names=['x', 'y'],
                        class_embeddings=emb)


def test_bad_inputs(demo_model):
    a, v = clips(1)
    with pytest.raises(ValueError, match='audio_channels=128'):
        inference_model(demo_model, a[0][:, :100], v[0])
    with pytest.raises(ValueError, match=r'\[T, D\] or \[B, T, D\]'):
        inference_model(demo_model, a[0][0], v[0])
    with pytest.raises(ValueError, match='2 clips but video has 1'):
        inference_model(demo_model, [a[0], a[0]], [v[0]])
    bad = a[0].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        inference_model(demo_model, bad, v[0])
    with pytest.raises(ValueError, match='video features are missing'):
        inference_model(demo_model, a[0])
    with pytest.raises(ValueError, match='topk'):
        inference_model(demo_model, a[0], v[0], topk=0)


def write_layout(root, audio, video, names):
    """Benchmark layout: features/m/{audio,video}/split/Foo.pkl; the video
    file lists the clips in reverse order."""
    paths = {}
    for mod, feats, order in (('audio', audio, names),
                              ('video', video, names[::-1])):
        folder = root / 'features' / 'm' / mod / 'stage_2_test_unseen'
        folder.mkdir(parents=True)
        idx = [names.index(n) for n in order]
        obj = dict(features=[feats[i] for i in idx], video_names=list(order),
                   fps=[1.0] * len(order))
        with open(folder / 'Foo.pkl', 'wb') as f:
            pickle.dump(obj, f)
        paths[mod] = str(folder / 'Foo.pkl')
    return paths


def test_feature_file_input(demo_model, tmp_path):
    a, v = clips(3, seed=5)
    names = ['c0', 'c1', 'c2']
    paths = write_layout(tmp_path, a, v, names)
    direct = inference_model(demo_model, a, v)
    for path in (paths['audio'], paths['video']):  # either modality's file
        got = inference_model(demo_model, path)
        assert [r['clip_name'] for r in got] == names
        for g, d in zip(got, direct):
            np.testing.assert_allclose(g['distances'], d['distances'],
                                       atol=1e-5)
    la, lv, ln = load_clip_features(paths['audio'], clips=['c2'])
    assert ln == ['c2'] and la[0].shape == a[2].shape
    np.testing.assert_array_equal(lv[0], v[2])
    with pytest.raises(DatasetError, match='no clip named'):
        load_clip_features(paths['audio'], clips=['zz'])
    npz = tmp_path / 'one.npz'
    np.savez(npz, audio=a[1], video=v[1])
    res = inference_model(demo_model, str(npz))
    np.testing.assert_allclose(res[0]['distances'], direct[1]['distances'],
                               atol=1e-5)
    lonely = tmp_path / 'x' / 'audio' / 'Bar.pkl'
    lonely.parent.mkdir(parents=True)
    lonely.write_bytes(open(paths['audio'], 'rb').read())
    with pytest.raises(FileNotFoundError,
                       match=r'x/video/Bar\.pkl: matching feature file'):
        load_clip_features(str(lonely))


def test_config_names_the_encoder():
    """class_name_encoder in the config overrides the width-based guess."""
    model = init_model(DEMO_CONFIG, cfg_options={
        'class_name_encoder': dict(type='word2vec')})
    a, v = clips(1)
    with pytest.raises(ClassNameEncoderError, match="type 'word2vec'"):
        inference_model(model, a[0], v[0], class_names=['a'])


def test_default_beta_follows_the_configs_beta_rule():
    # the beta tools/test.py tests with: test_beta(validation beta, rule)
    from types import SimpleNamespace

    from mmengine.config import Config

    from stftbox.apis.inference import default_beta
    model = SimpleNamespace(calibration=dict(beta=0.6), cfg=Config(dict(
        test_evaluator=dict(type='GZSLMetric', beta_rule='clipclap'))))
    assert default_beta(model) == pytest.approx((3 * 0.6 + 1e-10) / 3)
    assert default_beta(model) != 0.6
    model.cfg.test_evaluator.beta_rule = 'same'
    assert default_beta(model) == 0.6
    assert default_beta(SimpleNamespace(calibration=None, cfg=None)) == 0.0
