"""``tools/model_zoo.py list`` prints the table without importing torch
(it took ~5 s and ~650 MB with torch)."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PROBE = '''
import runpy, sys
sys.argv = ['model_zoo.py', 'list']
try:
    runpy.run_path(sys.argv_path, run_name='__main__')
except SystemExit as exc:
    code = exc.code
print('TORCH_IMPORTED', 'torch' in sys.modules, code)
'''


def test_list_does_not_import_torch():
    probe = PROBE.replace('sys.argv_path',
                          repr(osp.join(REPO, 'tools', 'model_zoo.py')))
    env = dict(os.environ, PYTHONPATH=REPO)
    res = subprocess.run([sys.executable, '-c', probe], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    assert lines[-1] == 'TORCH_IMPORTED False 0'
    assert lines[0].split()[:3] == ['name', 'dataset', 'features']
    assert any(ln.startswith('stft_demo_ucf_surrogate') for ln in lines)


def test_checkpoint_names_still_import_on_demand():
    import stftbox.fileio as utils
    assert utils.CheckpointError.__module__ == 'stftbox.fileio.safe_load'
    assert callable(utils.safe_torch_load)
    try:
        utils.no_such_name  # noqa: B018
    except AttributeError as err:
        assert 'no_such_name' in str(err)
    else:
        raise AssertionError('expected AttributeError')
