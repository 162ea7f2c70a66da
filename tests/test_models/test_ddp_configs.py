"""Issue 10 item 3: shipped configs train under 2-process DDP (gloo, CPU)
without ``find_unused_parameters`` (see _ddp_train_worker.py)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch.distributed as dist

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WORKER = osp.join(osp.dirname(osp.abspath(__file__)), '_ddp_train_worker.py')
CONFIGS = ['configs/ablations/stft_demo_no_glp.py',
           'configs/ablations/stft_demo_fixed_threshold.py',
           'configs/stft_demo.py']


@pytest.mark.skipif(not dist.is_gloo_available(), reason='needs gloo')
def test_two_process_gloo_training_of_configs():
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone',
         '--nproc_per_node', '2', WORKER, *CONFIGS],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    for config in CONFIGS:
        assert f'DDP-OK {config} iters=3 replicas_equal=True' in proc.stdout, \
            log[-3000:]
