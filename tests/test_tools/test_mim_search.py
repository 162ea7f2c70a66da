"""`mim search stftbox` (openmim) lists the model zoo from
stftbox/.mim/model-index.yml, offline.

openmim 0.3.9 imports ``pkg_resources``, which setuptools >= 82 no longer
has; where it is missing, tests/data/mim_shim provides the three names mim
uses (``get_distribution`` finds the package with importlib, so mim reads
the index of the stftbox being tested)."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIM = osp.join(REPO, 'tests', 'data', 'mim_shim')

pytestmark = pytest.mark.skipif(importlib.util.find_spec('mim') is None,
                                reason='openmim is not installed')


def _mim(*args):
    path = [REPO]
    if importlib.util.find_spec('pkg_resources') is None:
        path.append(SHIM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    code = ('import sys; from mim.cli import cli; '
            f'sys.argv = ["mim", *{list(args)!r}]; cli()')
    return subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_mim_search_lists_the_zoo():
    from stftbox.apis import list_models
    from stftbox.fileio import get_entry
    res = _mim('search', 'stftbox')
    assert res.returncode == 0, res.stderr[-2000:]
    ids = [ln.split(':', 1)[1].strip() for ln in res.stdout.splitlines()
           if ln.startswith('config id:')]
    assert sorted(ids) == list_models()
    demo = get_entry('stft_demo_ucf_surrogate')
    block = res.stdout.split('config id: stft_demo_ucf_surrogate')[1]
    block = block.split('config id:')[0]
    fields = dict(ln.split(None, 1) for ln in block.strip().splitlines()
                  if ln.strip() and not ln.startswith('-'))
    assert fields['config'] == demo['config']
    assert fields['weight'] == demo['url']
    assert float(fields['ucf-gzsl/hm']) == demo['HM']
    assert int(fields['parameters']) == demo['Parameters']


def test_mim_search_filters_by_model_field():
    res = _mim('search', 'stftbox', '--field', 'training_data', '--dataset',
               'ucf-gzsl')
    assert res.returncode == 0, res.stderr[-2000:]
    ids = sorted(ln.split(':', 1)[1].strip() for ln in res.stdout.splitlines()
                 if ln.startswith('config id:'))
    assert ids == ['stft_demo_ucf_surrogate', 'stft_ucf_cls',
                   'stft_ucf_main']
