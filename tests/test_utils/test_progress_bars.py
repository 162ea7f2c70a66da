"""Progress bars (tqdm, the one mechanism) on the long steps: feature-cache
conversion, surrogate generation, archive extraction, evaluation."""
import io
import re
import zipfile

import numpy as np
import pytest

from stftbox.utils.progress import track

BAR_END = re.compile(r'(\d+)/(\d+) \[')


def finished(text):
    """``(done, total)`` of the last bar state written in ``text``."""
    found = BAR_END.findall(text)
    return tuple(map(int, found[-1])) if found else None


def test_track_yields_everything_and_draws_one_line():
    out = io.StringIO()
    assert list(track(range(7), file=out)) == list(range(7))
    assert finished(out.getvalue()) == (7, 7)
    assert out.getvalue().endswith('\n')
    assert out.getvalue().count('\n') == 1
    quiet = io.StringIO()
    assert list(track(iter([1, 2]), total=2, enabled=False,
                      file=quiet)) == [1, 2]
    assert quiet.getvalue() == ''


def _fake_text_encoder(names):
    rng = np.random.default_rng(0)
    out = rng.standard_normal((len(names), 384)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_surrogate_generation_and_cache_conversion_show_bars(tmp_path,
                                                             capsys):
    from stftbox.datasets import AVGZSLDataset, make_surrogate_avgzsl
    from stftbox.datasets.surrogate import FEATURE_SPLITS
    root = make_surrogate_avgzsl(str(tmp_path / 'UCF'), seed=0,
                                 max_clips_per_class=1,
                                 text_encoder=_fake_text_encoder,
                                 progress=True)
    done = finished(capsys.readouterr().out)
    n_files = sum(len(list((tmp_path / 'UCF' / 'features' /
                            'surrogate_temporal' / 'audio' / s).iterdir()))
                  for s in FEATURE_SPLITS)
    assert done == (n_files, n_files) and n_files > 50  # (split, class)
    ds = AVGZSLDataset(root, feature_method='surrogate_temporal',
                       audio_channels=128, video_channels=512)
    done = finished(capsys.readouterr().out)
    n_pairs = len(list((tmp_path / 'UCF' / 'features' / 'surrogate_temporal'
                        / 'audio' / 'stage_1_train').iterdir()))
    assert done == (n_pairs, n_pairs)
    assert len(ds) == n_pairs  # one clip per class
    AVGZSLDataset(root, feature_method='surrogate_temporal',
                  audio_channels=128, video_channels=512)  # cached now
    assert finished(capsys.readouterr().out) is None


def test_archive_extraction_shows_a_bar(tmp_path, capsys):
    from stftbox.datasets.avgzsl_layout import safe_extract_zip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        for i in range(5):
            zf.writestr(f'UCF/features/m/audio/{i}.pkl', b'x')
    path = tmp_path / 'a.zip'
    path.write_bytes(buf.getvalue())
    out = safe_extract_zip(str(path), str(tmp_path / 'UCF'), 'ucf',
                           progress=True)
    assert len(out) == 5
    assert finished(capsys.readouterr().out) == (5, 5)
    safe_extract_zip(str(path), str(tmp_path / 'UCF2'), 'ucf')
    assert capsys.readouterr().out == ''  # off by default


class _Runner:
    def __init__(self, n):
        self.val_dataloader = self.test_dataloader = list(range(n))


@pytest.mark.parametrize('n,expected', [(25, (25, 25)), (5, None)])
def test_eval_progress_hook(n, expected):
    from stftbox.engine.hooks import EvalProgressHook
    for phase in ('val', 'test'):
        out = io.StringIO()
        hook = EvalProgressHook(min_iters=20, file=out)
        runner = _Runner(n)
        getattr(hook, f'before_{phase}_epoch')(runner)
        for i in range(n):
            getattr(hook, f'after_{phase}_iter')(runner, i)
        # the bar is finished before the metrics are logged
        assert out.getvalue().endswith('\n') == (expected is not None)
        getattr(hook, f'after_{phase}_epoch')(runner, {})
        assert finished(out.getvalue()) == expected
        assert out.getvalue().count('\n') == (expected is not None)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_no_redraws_when_not_a_terminal():
    # a pipe / log file (StringIO: isatty() False): one plain line, no \r
    out = io.StringIO()
    assert list(track(range(30), file=out)) == list(range(30))
    assert '\r' not in out.getvalue()
    assert finished(out.getvalue()) == (30, 30)
    assert out.getvalue().count('\n') == 1
    # a terminal: tqdm's bar, redrawn in place
    tty = _Terminal()
    list(track(range(30), file=tty))
    assert tty.getvalue().count('\r') >= 2
    assert finished(tty.getvalue()) == (30, 30)


def test_eval_progress_hook_plain_when_not_a_terminal():
    from stftbox.engine.hooks import EvalProgressHook
    out = io.StringIO()
    hook = EvalProgressHook(min_iters=20, file=out)
    runner = _Runner(40)
    hook.before_val_epoch(runner)
    for i in range(40):
        hook.after_val_iter(runner, i)
    hook.after_val_epoch(runner, {})
    assert '\r' not in out.getvalue()
    assert finished(out.getvalue()) == (40, 40)
