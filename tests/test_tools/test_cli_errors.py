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


def test_plugin_config_without_custom_imports_is_one_line(
        tmp_path, surrogate_root, short_run):
    """The plugin's fusion type is unknown without ``custom_imports``: one
    line names the type, the registry and the fix, not a traceback."""
    plugin = osp.join(REPO, 'projects', 'example_fusion_plugin',
                      'stft_demo_mlb_fusion.py')
    lines = open(plugin).read().splitlines()
    cfg = tmp_path / 'mlb_without_imports.py'
    cfg.write_text('\n'.join(ln for ln in lines if 'custom_imports' not in ln
                             and 'allow_failed_imports' not in ln))
    opts = [f'{k}={v}' for k, v in short_run(surrogate_root).items()]
    res = run(['tools/train.py', str(cfg), '--work-dir',
               str(tmp_path / 'work'), '--cfg-options', *opts], tmp_path)
    assert res.returncode == 1
    assert 'Traceback' not in res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1, res.stderr[-3000:]
    assert err[0].startswith("error: 'MLBFusion' is not registered in the "
                             "stftbox 'fusion' registry")
    assert "custom_imports = dict(imports=['<package>']" in err[0]


def test_unknown_type_lines_for_any_registry():
    """stftbox's build functions and mmengine's own (root registries, e.g.
    the Runner's top-level builds) give the same kind of line."""
    from stftbox.registry import (DATASETS, HOOKS, PLUGIN_HINT,
                                  UnregisteredTypeError,
                                  unregistered_type_message)
    import stftbox.datasets  # noqa: F401
    import stftbox.engine  # noqa: F401
    for registry, name in ((HOOKS, 'hook'), (DATASETS, 'dataset')):
        with pytest.raises(UnregisteredTypeError) as err:
            registry.build(dict(type='PluginThing'))
        assert isinstance(err.value, KeyError)
        line = unregistered_type_message(err.value)
        assert line == str(err.value) and '\n' not in line
        assert line.startswith(f"'PluginThing' is not registered in the "
                               f"stftbox '{name}' registry")
        assert line.endswith(PLUGIN_HINT)
    from mmengine.registry import MODELS as ROOT
    with pytest.raises(KeyError) as err:
        ROOT.build(dict(type='PluginModel', _scope_='stftbox'))
    assert unregistered_type_message(err.value) == (
        "'PluginModel' is not registered in the 'stftbox::model' registry; "
        + PLUGIN_HINT)
    assert unregistered_type_message(KeyError('labels')) is None
