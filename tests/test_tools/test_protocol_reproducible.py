"""Two identical protocol runs give identical weights and numbers; the
environment a result depends on is recorded, and a rerun in another
environment is refused instead of mixing results."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from stftbox.apis import register_all_modules
from stftbox.engine import run_protocol
from stftbox.fileio import safe_torch_load, state_dict_sha256

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def demo_cfg(options):
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    cfg.merge_from_dict(options)
    return cfg


def test_two_runs_identical_and_environment_recorded(surrogate_root,
                                                     short_run, tmp_path):
    threads = torch.get_num_threads()
    opts = short_run(surrogate_root, epochs=1, batches=2)
    a = run_protocol(demo_cfg(opts), str(tmp_path / 'a'))
    b = run_protocol(demo_cfg(opts), str(tmp_path / 'b'))
    assert a['test'] == b['test']
    assert a['weights_sha256'] == b['weights_sha256']
    assert a['weights_sha256'] == state_dict_sha256(
        safe_torch_load(osp.join(str(tmp_path / 'a'), a['checkpoint']))[
            'state_dict'])
    assert torch.get_num_threads() == threads  # run_protocol restores it
    env = a['environment']
    assert env['threads'] == threads and env['seed'] == 42
    assert env['num_workers'] == dict(train=0, val=0, test=0)
    assert env['torch'] == torch.__version__
    stage1 = json.loads((tmp_path / 'a' / 'stage1.json').read_text())
    assert stage1['environment'] == env
    # the same work dir with another thread count: refused, not mixed
    try:
        torch.set_num_threads(threads + 1)
        with pytest.raises(RuntimeError, match=r'another environment '
                           rf'\(threads: {threads} != {threads + 1}\)'):
            run_protocol(demo_cfg(opts), str(tmp_path / 'a'))
    finally:
        torch.set_num_threads(threads)


def test_state_dict_digest_sees_values_dtypes_and_names():
    base = {'w': torch.zeros(2, 3), 'n': torch.tensor(3)}
    d = state_dict_sha256(base)
    assert d == state_dict_sha256({'n': torch.tensor(3),
                                   'w': torch.zeros(2, 3)})
    assert d != state_dict_sha256({'w': torch.zeros(3, 2),
                                   'n': torch.tensor(3)})
    assert d != state_dict_sha256({'w': torch.zeros(2, 3).double(),
                                   'n': torch.tensor(3)})
    assert d != state_dict_sha256({'v': torch.zeros(2, 3),
                                   'n': torch.tensor(3)})
    changed = torch.zeros(2, 3)
    changed[1, 2] = 1e-7
    assert d != state_dict_sha256({'w': changed, 'n': torch.tensor(3)})
