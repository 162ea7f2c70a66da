"""The extractors equal the transformers models called by hand on the same
decoded frames / audio; frame times, audio windows, decoding, the registry
and the offline error."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from raw_fixture import REPO, TINY_CFG
from stftbox.extractors.synthetic import write_clip


@pytest.fixture(scope='module')
def tiny():
    cfg = Config.fromfile(TINY_CFG)
    return cfg.clip.to_dict(), cfg.clap.to_dict()


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp('m') / 'a.mp4', seconds=3.0,
                      fps=8, tone=500.0)


def test_clip_image_equals_hand_call(tiny, clip_file):
    import transformers as tf

    from stftbox.extractors import CLIPImageExtractor, decode_frames
    from stftbox.registry import EXTRACTORS
    ex = EXTRACTORS.build(dict(type='CLIPImageExtractor', **tiny[0],
                               sampler=dict(type='EveryNSeconds',
                                            interval=1.0)))
    assert isinstance(ex, CLIPImageExtractor)
    assert ex.times(3.0) == [0.5, 1.5, 2.5]
    got = ex.extract(clip_file)
    # by hand: same seed, same config, same processor
    torch.manual_seed(0)
    model = tf.CLIPModel(tf.CLIPConfig.from_dict(tiny[0]['config'])).eval()
    proc = tf.CLIPImageProcessor(**tiny[0]['processor'])
    frames = decode_frames(clip_file, [0.5, 1.5, 2.5])
    pix = proc(images=[frames[t] for t in (0.5, 1.5, 2.5)],
               return_tensors='pt')['pixel_values']
    with torch.no_grad():
        out = model.get_image_features(pixel_values=pix)
    out = getattr(out, 'pooler_output', out)
    want = (out / out.norm(dim=-1, keepdim=True)).numpy()
    assert got.shape == (3, 8)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # frames differ over time (the square moves): rows are not all equal
    assert np.abs(got[0] - got[2]).max() > 1e-4


def test_clap_audio_equals_hand_call(tiny, clip_file):
    import transformers as tf

    from stftbox.extractors import CLAPAudioExtractor, decode_audio
    ex = CLAPAudioExtractor(**tiny[1])  # 10 s centred window
    assert ex.sample_rate == 8000
    got = ex.extract(clip_file)
    torch.manual_seed(0)
    model = tf.ClapModel(tf.ClapConfig.from_dict(tiny[1]['config'])).eval()
    fe = tf.ClapFeatureExtractor(**tiny[1]['processor'])
    wave = decode_audio(clip_file, 8000)
    assert abs(len(wave) - 3 * 8000) < 2048  # codec padding only
    win = np.zeros(80000, np.float32)  # 10 s, the 3 s clip in its middle
    start = 40000 - len(wave) // 2
    win[start:start + len(wave)] = wave
    feats = fe([win], sampling_rate=8000, return_tensors='pt')
    with torch.no_grad():
        out = model.get_audio_features(**feats)
    out = getattr(out, 'pooler_output', out)
    want = (out / out.norm(dim=-1, keepdim=True)).numpy()
    assert got.shape == (1, 8)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_text_equals_hand_call(tiny):
    import transformers as tf

    from stftbox.extractors import CLIPCLAPTextEncoder
    enc = CLIPCLAPTextEncoder(clip=tiny[0], clap=tiny[1])
    got = enc.encode(['playing cello', 'surfing'])
    tok = tf.ByT5Tokenizer()
    halves = []
    for cls, cfg_cls, spec in ((tf.CLIPModel, tf.CLIPConfig, tiny[0]),
                               (tf.ClapModel, tf.ClapConfig, tiny[1])):
        torch.manual_seed(0)
        model = cls(cfg_cls.from_dict(spec['config'])).eval()
        ids = tok(['playing cello', 'surfing'], padding=True,
                  return_tensors='pt')
        with torch.no_grad():
            out = model.get_text_features(input_ids=ids['input_ids'],
                                          attention_mask=ids[
                                              'attention_mask'])
        out = getattr(out, 'pooler_output', out)
        halves.append(out / out.norm(dim=-1, keepdim=True))
    want = (torch.cat(halves, -1) / np.sqrt(2)).numpy()
    assert got.shape == (2, 16)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-6)


def test_audio_windows_by_hand():
    from stftbox.extractors import audio_windows
    wave = np.arange(1, 6, dtype=np.float32)  # 5 samples at 1 Hz
    # centred 4-sample window: c = 2, samples [0, 4) -> 1 2 3 4
    np.testing.assert_array_equal(audio_windows(wave, 1, 4.0)[0],
                                  [1, 2, 3, 4])
    # 9-sample window: 5 samples in the middle, zeros around
    np.testing.assert_array_equal(audio_windows(wave, 1, 9.0)[0],
                                  [0, 0, 1, 2, 3, 4, 5, 0, 0])
    # sliding 2-sample windows, hop 2: [1 2], [3 4]
    wins = audio_windows(wave, 1, 2.0, hop_seconds=2.0)
    np.testing.assert_array_equal(np.stack(wins), [[1, 2], [3, 4]])
    # shorter than one window: one zero-padded window
    np.testing.assert_array_equal(
        audio_windows(wave[:1], 1, 3.0, hop_seconds=1.0)[0], [1, 0, 0])


def test_frame_choice_and_silent_audio(tmp_path):
    from stftbox.extractors import (MiddleFrame, decode_audio,
                                    decode_frames, probe_media)
    path = write_clip(tmp_path / 'silent.avi', seconds=2.0, fps=4,
                      audio=False)
    info = probe_media(path)
    assert info['duration'] == pytest.approx(2.0) and not info['has_audio']
    assert decode_audio(path, 16000) is None
    assert MiddleFrame().times(2.0) == [1.0]
    frames = decode_frames(path, [0.0, 0.3, 1.0, 99.0])
    # 4 fps: t=0.3 shows frame 1 (pts 0.25); square at x = 3 * i
    col = {t: int(np.argmax(f[12, :, 0] > 100)) for t, f in frames.items()}
    assert col[0.0] == 0 and col[0.3] == 3 and col[1.0] == 12
    assert col[99.0] == 21  # past the end: the last frame (i = 7)


def test_unreadable_file_error(tmp_path):
    from stftbox.extractors import MediaDecodeError, probe_media
    bad = tmp_path / 'x.mp4'
    bad.write_bytes(b'\0' * 100)
    with pytest.raises(MediaDecodeError, match='x.mp4: cannot open'):
        probe_media(str(bad))


def test_offline_missing_model_is_one_line_error(tmp_path):
    code = ('from stftbox.extractors import CLIPImageExtractor\n'
            "CLIPImageExtractor(model='stftbox-tests/no-such-clip')\n")
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_HOME=str(tmp_path),
               PYTHONPATH=REPO)
    res = subprocess.run([sys.executable, '-c', code], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('stftbox.extractors.hf.ExtractorModelError: '
                           'stftbox-tests/no-such-clip: cannot load')
    assert 'hf download stftbox-tests/no-such-clip' in last


def test_config_object_equals_config_dict(tiny, clip_file):
    """A transformers config object builds the same (seeded) model as its
    dict, and the recorded spec (to_dict) rebuilds it."""
    import transformers as tf

    from stftbox.extractors import CLAPAudioExtractor, build_extractor
    obj = tf.ClapConfig.from_dict(tiny[1]['config'])
    a = CLAPAudioExtractor(config=obj, processor=tiny[1]['processor'],
                           window_seconds=1.0, hop_seconds=1.0)
    b = CLAPAudioExtractor(**tiny[1], window_seconds=1.0, hop_seconds=1.0)
    fa, fb = a.extract(clip_file), b.extract(clip_file)
    assert fa.shape == (3, 8)  # 3 s clip, 1 s windows, hop 1 s
    np.testing.assert_array_equal(fa, fb)
    rebuilt = build_extractor(a.to_dict())
    assert rebuilt is not a and rebuilt.hop_seconds == 1.0
    np.testing.assert_array_equal(rebuilt.extract(clip_file), fa)


def test_decode_error_mid_stream_raises(tmp_path, monkeypatch):
    """A stream that breaks after some frames: no stale frame for the later
    times, one MediaDecodeError naming the file."""
    import av

    from stftbox.extractors import MediaDecodeError, decode
    path = write_clip(tmp_path / 'broken.avi', seconds=2.0, fps=4,
                      audio=False)
    real_open = decode._open

    def broken_open(p):
        c = real_open(p)
        real_decode = c.decode

        def decode_two(*a, **k):
            for i, frame in enumerate(real_decode(*a, **k)):
                if i == 2:
                    raise av.error.InvalidDataError(1094995529, 'broken')
                yield frame

        class Wrap:
            streams = c.streams
            decode = staticmethod(decode_two)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                c.close()
        return Wrap()
    monkeypatch.setattr(decode, '_open', broken_open)
    # times served by the first two frames (0.0 s, 0.25 s): fine; 0.3 s
    # needs the third frame to know the second is the one shown
    assert sorted(decode.decode_frames(path, [0.0, 0.2])) == [0.0, 0.2]
    with pytest.raises(MediaDecodeError,
                       match=r'broken.avi: cannot decode video after 1 of '
                       r'3 requested frames'):
        decode.decode_frames(path, [0.0, 0.3, 1.5])
