"""Command-line tools end with one clear `error:` line, not a traceback."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from stftbox.datasets import AVGZSLDataset, DatasetError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(args, tmp_path):
    env = dict(os.environ, STFTBOX_HOME=str(tmp_path / 'home'),
               OMP_NUM_THREADS='1')
    env.pop('STFTBOX_MIRROR', None)
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize('args,needle', [
    (['tools/test.py', 'configs/stft_demo.py', 'stft_ucf_cls'],
     'not yet released'),
    (['tools/test.py', 'configs/stft_demo.py', 'no_such.pth'],
     'is not an existing file'),
    (['tools/train.py', 'configs/stft_demo.py', '--amp'], 'needs a GPU'),
], ids=['unreleased-zoo-model', 'missing-checkpoint', 'amp-on-cpu'])
def test_tools_fail_with_one_line(args, needle, tmp_path):
    res = run(args, tmp_path)
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error:') and needle in last


def test_zoo_verify_of_an_unreleased_model(tmp_path):
    res = run(['tools/model_zoo.py', 'verify', 'stft_ucf_cls'], tmp_path)
    assert res.returncode == 1
    assert 'no checkpoint to verify (status: not yet released)' in res.stderr


def test_missing_selavi_data_suggests_the_selavi_archive(tmp_path):
    with pytest.raises(DatasetError) as err:
        AVGZSLDataset(str(tmp_path / 'UCF'), dataset_name='UCF',
                      feature_method='main_features_non_averaged',
                      split='main_split')
    msg = str(err.value)
    assert 'download_avgzsl.py ucf selavi' in msg
    assert str(tmp_path / 'UCF') in msg
