"""tools/misc/print_config.py prints the merged config, with stftbox::
bases resolved and --cfg-options applied."""
import os.path as osp
import runpy
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'print_config.py')


def run_tool(argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [TOOL] + argv)
    monkeypatch.setattr(sys, 'path', list(sys.path))
    runpy.run_path(TOOL, run_name='__main__')


def test_prints_plugin_config_with_overrides(monkeypatch, capsys):
    run_tool([osp.join(REPO, 'projects', 'example_fusion_plugin',
                       'stft_demo_mlb_fusion.py'),
              '--cfg-options', 'train_cfg.max_epochs=2'], monkeypatch)
    out = capsys.readouterr().out
    assert "type='MLBFusion'" in out
    assert 'max_epochs=2' in out
    assert "default_scope = 'stftbox'" in out  # from stftbox::stft_demo.py
    assert '_scope_' not in out


def test_missing_config_is_one_error_line(monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as exc:
        run_tool([str(tmp_path / 'nope.py')], monkeypatch)
    assert str(exc.value).startswith('error:') and 'nope.py' in str(
        exc.value)
