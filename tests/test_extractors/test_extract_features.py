"""extract_features.py end to end on raw videos written by the test: layout
check, report, one epoch of a demo-sized STFT, zero-shot on a video file;
kill-and-rerun and sharded runs give byte-identical files."""
import filecmp
import importlib.util
import json
import os
import os.path as osp
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest

from raw_fixture import MISSING, NO_AUDIO, REPO, TINY_CFG, UNREADABLE

TEMPORAL = 'clipclap_features_non_averaged'
AVERAGED = 'clipclap_features'


def _load_tool(rel):
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(rel))[0], osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _extract(raw, out_root, *extra):
    tool = _load_tool('tools/dataset_converters/extract_features.py')
    return tool.main(['ucf', raw['videos'], '--out-root', str(out_root),
                      '--class-split', raw['class_split'],
                      '--extractor-cfg', TINY_CFG, '--no-progress',
                      *extra])


@pytest.fixture(scope='module')
def extracted(raw_benchmark, tmp_path_factory):
    out = tmp_path_factory.mktemp('extracted')
    assert _extract(raw_benchmark, out) == 0
    return str(out / 'UCF')


def _tree(root):
    files = []
    for dp, dirs, fs in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        files += [osp.relpath(osp.join(dp, f), root) for f in sorted(fs)]
    return files


def test_layout_report_and_values(extracted):
    from stftbox.datasets.avgzsl_layout import check_avgzsl_layout
    for method, w in ((TEMPORAL, 8), (AVERAGED, 8)):
        rep = check_avgzsl_layout(extracted, method=method)
        assert rep.ok, rep.format()
        assert rep.info['widths'] == dict(audio=w, video=w, text=16)
    report = json.load(open(osp.join(extracted, 'features', TEMPORAL,
                                     'extract_report.json')))
    assert report['split'] == 'cls_split' and report['layout'] == 'temporal'
    assert report['complete'] and report['clips'] == 15
    assert report['silent_audio'] == [NO_AUDIO]
    assert list(report['unreadable']) == [UNREADABLE]
    assert 'cannot open as media' in report['unreadable'][UNREADABLE]
    assert report['missing_videos'] == [MISSING]
    assert not osp.exists(osp.join(extracted, '.extract_work'))
    # temporal: one step a second (2.0 s and 2.5 s clips -> 2 steps)
    with open(osp.join(extracted, 'features', TEMPORAL, 'video',
                       'stage_2_test_seen', 'Archery.pkl'), 'rb') as f:
        obj = pickle.load(f)
    assert obj['video_names'] == ['v_Archery_g03_c01']  # unreadable c02 out
    assert obj['fps'] == [1.0]
    assert obj['features'][0].shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(obj['features'][0], axis=1),
                               1.0, rtol=1e-5)
    import h5py
    with h5py.File(osp.join(extracted, 'features', AVERAGED, 'audio',
                            'stage_2_test_unseen', 'Bowling.h5')) as f:
        assert f['data'].shape == (2, 8)
        assert [n.decode() for n in f['video_urls'][()]] == [
            'v_Bowling_g01_c01', 'v_Bowling_g01_c02']
    text = np.load(osp.join(extracted, 'features', AVERAGED, 'text',
                            'word_embeddings_ucf_normed.npy'),
                   allow_pickle=True).item()
    assert sorted(text) == ['archery', 'basketball', 'biking', 'bowling']
    v = text['biking']
    # CLIP half and CLAP half, each of norm 1/sqrt(2)
    np.testing.assert_allclose([np.linalg.norm(v[:8]),
                                np.linalg.norm(v[8:])], 2 ** -0.5,
                               rtol=1e-5)


def _train_cfg(data_root, work_dir):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'stft_demo.py'))
    data = dict(data_root=data_root, feature_method=TEMPORAL,
                split='cls_split', audio_channels=8, video_channels=8,
                audio_step_seconds=1.0, video_step_seconds=1.0,
                prepare=None)
    opts = {'model.backbone.audio_channels': 8,
            'model.backbone.video_channels': 8,
            'model.head.text_channels': 16,
            'train_cfg.max_epochs': 1,
            'train_dataloader.batch_size': 4,
            'train_dataloader.sampler.batch_size': 4,
            'train_dataloader.sampler.num_batches': 2}
    for split in ('train', 'val', 'test'):
        for k, v in data.items():
            opts[f'{split}_dataloader.dataset.{k}'] = v
        opts[f'{split}_dataloader.num_workers'] = 0
        opts[f'{split}_dataloader.persistent_workers'] = False
    cfg.merge_from_dict(opts)
    cfg.class_name_encoder = dict(type='feature_extractor')
    cfg.work_dir = str(work_dir)
    return cfg


def test_train_one_epoch_and_zero_shot_video(extracted, raw_benchmark,
                                             tmp_path, capsys):
    from mmengine.runner import Runner

    from stftbox.apis import register_all_modules
    from stftbox.apis.inference import inference_model, init_model
    from stftbox.fileio import safe_torch_load
    register_all_modules()
    cfg = _train_cfg(extracted, tmp_path / 'work')
    Runner.from_cfg(cfg).train()
    ckpt = tmp_path / 'work' / 'epoch_1.pth'
    meta = safe_torch_load(ckpt)['meta']['dataset_meta']
    record = json.load(open(osp.join(extracted, 'features', TEMPORAL,
                                     'extractor.json')))['extractor']
    assert meta['feature_extractor'] == record

    cfg_path = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_path))
    video = osp.join(raw_benchmark['videos'], 'Bowling',
                     'v_Bowling_g01_c01.avi')
    demo = _load_tool('demo/zero_shot_video.py')
    classes = 'Bowling,Archery,playing cello'
    res = demo.main([video, str(cfg_path), str(ckpt), '--classes', classes,
                     '--topk', '3'])
    out = capsys.readouterr().out
    assert 'v_Bowling_g01_c01.avi' in out
    assert sorted(res['topk_classes']) == sorted(classes.split(','))
    # the video embedded on the fly equals the stored features of the clip
    model = init_model(str(cfg_path), str(ckpt))
    feat = osp.join(extracted, 'features', TEMPORAL, 'audio',
                    'stage_2_test_unseen', 'Bowling.pkl')
    stored = inference_model(model, feat, class_names=classes.split(','),
                             topk=3)
    first = [r for r in stored if r['clip_name'] == 'v_Bowling_g01_c01'][0]
    np.testing.assert_allclose(res['distances'], first['distances'],
                               rtol=1e-5)
    # a name never seen in training, through the CLIP+CLAP text towers
    assert 'playing cello' in out


def _compare_trees(a, b):
    ta, tb = _tree(a), _tree(b)
    assert ta == tb
    bad = [f for f in ta if not filecmp.cmp(osp.join(a, f), osp.join(b, f),
                                            shallow=False)]
    assert not bad, bad


def test_kill_and_rerun_is_byte_identical(extracted, raw_benchmark,
                                          tmp_path):
    out = tmp_path / 'killed'
    env = dict(os.environ, STFTBOX_EXTRACT_KILL_AFTER='4',
               OMP_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH',
                                                             ''))
    res = subprocess.run(
        [sys.executable, 'tools/dataset_converters/extract_features.py',
         'ucf', raw_benchmark['videos'], '--out-root', str(out),
         '--class-split', raw_benchmark['class_split'],
         '--extractor-cfg', TINY_CFG, '--no-progress'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    work = out / 'UCF' / '.extract_work'
    staged = [f for _, _, fs in os.walk(work) for f in fs]
    assert len([f for f in staged if f.endswith('.npz')]) == 4
    assert not [f for f in staged if f.endswith('.tmp')]
    # the interrupted data root is refused by the reader
    from stftbox.datasets import AVGZSLDataset, DatasetError
    with pytest.raises(DatasetError, match='extraction not complete'):
        AVGZSLDataset(str(out / 'UCF'), feature_method=TEMPORAL)
    assert _extract(raw_benchmark, out) == 0  # resumes
    _compare_trees(extracted, str(out / 'UCF'))


def test_shards_give_the_same_files(extracted, raw_benchmark, tmp_path):
    out = tmp_path / 'sharded'
    assert _extract(raw_benchmark, out, '--num-shards', '2',
                    '--shard-id', '1') == 1  # shard 0's clips pending
    assert _extract(raw_benchmark, out, '--num-shards', '2',
                    '--shard-id', '0') == 0
    import shutil
    shutil.rmtree(out / 'UCF' / '.extract_work')
    _compare_trees(extracted, str(out / 'UCF'))


def test_shards_from_torchrun_environment(monkeypatch):
    tool = _load_tool('tools/dataset_converters/extract_features.py')
    monkeypatch.setenv('RANK', '2')
    monkeypatch.setenv('WORLD_SIZE', '3')
    args = tool.parse_args(['ucf', 'videos'])
    assert (args.shard_id, args.num_shards) == (2, 3)
    args = tool.parse_args(['ucf', 'videos', '--num-shards', '4',
                            '--shard-id', '0'])  # flags win
    assert (args.shard_id, args.num_shards) == (0, 4)
    with pytest.raises(SystemExit):
        tool.parse_args(['ucf', 'videos', '--num-shards', '2',
                         '--shard-id', '2'])


def test_video_needs_a_recorded_extractor(tmp_path):
    """A model trained on published (pre-extracted) features cannot embed
    a video: one clear error, not a crash."""
    from stftbox.apis.inference import inference_model, init_model
    from stftbox.extractors.synthetic import write_clip
    model = init_model(osp.join(REPO, 'configs', 'stft_demo.py'))
    video = write_clip(tmp_path / 'c.mp4', seconds=1.0)
    with pytest.raises(ValueError, match='records no feature extractor'):
        inference_model(model, video=video, class_names=['a', 'b'])
    with pytest.raises(FileNotFoundError, match='nope.mp4'):
        inference_model(model, video=str(tmp_path / 'nope.mp4'),
                        class_names=['a'])


def test_missing_clipclap_root_names_the_extraction_command(tmp_path):
    from stftbox.datasets import DatasetError
    from stftbox.datasets.av_gzsl import check_data_root
    with pytest.raises(DatasetError) as err:
        check_data_root(str(tmp_path / 'VGGSound'), 'VGGSound', TEMPORAL)
    msg = str(err.value)
    assert 'extract_features.py vggsound <video folder> --out-root ' \
        f'{tmp_path}' in msg
    assert 'download' not in msg and '\n' not in msg


def test_zero_shot_video_uses_the_checkpoint_beta(monkeypatch, capsys):
    """No --beta: the checkpoint's calibration beta ranks (beta=None to
    inference_model) and the demo says so, in zero_shot_demo.py's words."""
    demo = _load_tool('demo/zero_shot_video.py')
    assert demo.parse_args(['v.mp4', 'c.py', 'k.pth']).beta is None
    model = type('M', (), {})()
    model.calibration = dict(beta=0.7, epoch=3)
    seen = {}

    def fake_inference(m, video, class_names, topk, beta):
        seen['beta'] = beta
        return dict(clip_name='v.mp4', topk_classes=['a'], topk_indices=[0],
                    topk_distances=[1.5], seen=[True])
    monkeypatch.setattr(demo, 'init_model', lambda *a, **k: model)
    monkeypatch.setattr(demo, 'inference_model', fake_inference)
    demo.main(['v.mp4', 'c.py', 'k.pth', '--classes', 'a'])
    out = capsys.readouterr().out
    assert seen['beta'] is None
    assert 'beta 0.70 (chosen on validation, recorded in the checkpoint, ' \
        'epoch 3)' in out
    demo.main(['v.mp4', 'c.py', 'k.pth', '--classes', 'a', '--beta', '0.2'])
    assert seen['beta'] == 0.2
    assert 'beta 0.20 (--beta)' in capsys.readouterr().out


def _counting(monkeypatch, fail_at=None, exc=KeyboardInterrupt):
    """Patch the per-clip extraction: count calls, raise ``exc`` at call
    number ``fail_at``."""
    from stftbox.extractors import convert
    real, calls = convert._extract_clip, []

    def wrapped(path, extractors):
        calls.append(path)
        if fail_at is not None and len(calls) == fail_at:
            raise exc
        return real(path, extractors)
    monkeypatch.setattr(convert, '_extract_clip', wrapped)
    return calls


def test_layouts_one_at_a_time(extracted, raw_benchmark, tmp_path,
                               monkeypatch, capsys):
    """Per-layout fingerprint and report: one layout after the other gives
    the files of one run of both; an interrupted run of one layout leaves
    the other usable; a finished rerun extracts nothing."""
    from stftbox.datasets import AVGZSLDataset, DatasetError
    out = tmp_path / 'one_by_one'
    root = str(out / 'UCF')
    assert _extract(raw_benchmark, out, '--layouts', 'temporal') == 0
    calls = _counting(monkeypatch)
    capsys.readouterr()
    assert _extract(raw_benchmark, out, '--layouts', 'temporal') == 0
    assert calls == []
    assert 'already complete for cls_split' in capsys.readouterr().out
    monkeypatch.undo()
    _counting(monkeypatch, fail_at=3)
    with pytest.raises(KeyboardInterrupt):
        _extract(raw_benchmark, out, '--layouts', 'averaged')
    monkeypatch.undo()
    AVGZSLDataset(root, feature_method=TEMPORAL, split='cls_split')
    with pytest.raises(DatasetError, match='extraction not complete'):
        AVGZSLDataset(root, feature_method=AVERAGED, split='cls_split')
    assert _extract(raw_benchmark, out, '--layouts', 'averaged') == 0
    _compare_trees(extracted, root)


def test_model_error_is_not_an_unreadable_clip(raw_benchmark, tmp_path,
                                               monkeypatch, capsys):
    """A model / device error stops the run; the clip is not recorded as
    unreadable and the root is not complete."""
    from stftbox.extractors import ExtractorModelError
    out = tmp_path / 'model_error'
    _counting(monkeypatch, fail_at=2,
              exc=ExtractorModelError('CUDA out of memory'))
    assert _extract(raw_benchmark, out, '--layouts', 'averaged',
                    '--keep-work') == 2
    assert 'CUDA out of memory' in capsys.readouterr().err
    staged = [f for _, _, fs in os.walk(out / 'UCF' / '.extract_work')
              for f in fs]
    assert len([f for f in staged if f.endswith('.npz')]) == 1
    assert not [f for f in staged if f.endswith('.err.json')]
    report = json.load(open(out / 'UCF' / 'features' / AVERAGED /
                            'extract_report.json'))
    assert report['complete'] is False


def test_feature_files_respect_the_umask(tmp_path):
    """Class files (.h5, .pkl) and records are written through
    stftbox.fileio.atomic_io: permissions of a plain open() (umask)."""
    from stftbox.extractors.convert import (_atomic_h5, _atomic_json,
                                            _atomic_pickle)
    old = os.umask(0o007)
    try:
        _atomic_h5(str(tmp_path / 'a' / 'C.h5'),
                   np.ones((2, 3), np.float32), ['x', 'y'])
        _atomic_pickle(str(tmp_path / 'a' / 'C.pkl'), dict(a=1))
        _atomic_json(str(tmp_path / 'a' / 'r.json'), dict(a=1))
    finally:
        os.umask(old)
    for name in ('C.h5', 'C.pkl', 'r.json'):
        assert os.stat(tmp_path / 'a' / name).st_mode & 0o777 == 0o660
    assert sorted(os.listdir(tmp_path / 'a')) == ['C.h5', 'C.pkl', 'r.json']
    import h5py
    with h5py.File(tmp_path / 'a' / 'C.h5') as f:
        assert f['data'].shape == (2, 3)
        assert [n.decode() for n in f['video_urls'][()]] == ['x', 'y']
