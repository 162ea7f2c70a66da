"""tools/{dist,slurm}_{train,test}.sh build the launcher command that
mmpretrain's scripts build, and set OMP_NUM_THREADS (torchrun warns and
uses 1 thread per process when it is unset). A fake torchrun / srun on PATH
records what they receive."""
import os
import os.path as osp
import stat
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAKE = ('#!/bin/sh\necho "OMP=$OMP_NUM_THREADS"\necho "MKL=$MKL_NUM_THREADS"\n'
        'echo "ARGS=$*"\n')


@pytest.fixture
def fake_bin(tmp_path):
    for name in ('torchrun', 'srun', 'nproc'):
        path = tmp_path / name
        path.write_text(FAKE if name != 'nproc' else '#!/bin/sh\necho 8\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def launch(script, args, fake_bin, **env):
    full = dict(os.environ, PATH=f'{fake_bin}:{os.environ["PATH"]}', **env)
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        if var not in env:
            full.pop(var, None)
    res = subprocess.run(['bash', osp.join(REPO, 'tools', script)] + args,
                         env=full, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    out = dict(ln.split('=', 1) for ln in res.stdout.splitlines())
    assert out['MKL'] == out['OMP']  # mmengine warns when MKL's is unset
    return out['OMP'], out['ARGS'].split()


def test_dist_train_sets_threads_per_process(fake_bin):
    omp, args = launch('dist_train.sh', ['cfg.py', '2', '--amp'], fake_bin)
    assert omp == '4'  # 8 cores / 2 processes
    assert '--nproc_per_node=2' in args and '--master_port=29500' in args
    assert args[-5:] == [osp.join(REPO, 'tools', 'train.py'), 'cfg.py',
                         '--launcher', 'pytorch', '--amp']
    omp, _ = launch('dist_train.sh', ['cfg.py', '2'], fake_bin,
                    OMP_NUM_THREADS='3')
    assert omp == '3'  # the user's choice is kept


def test_dist_test_passes_the_checkpoint(fake_bin):
    omp, args = launch('dist_test.sh', ['cfg.py', 'ck.pth', '16'], fake_bin,
                       PORT='29700')
    assert omp == '1'  # never 0
    assert '--nproc_per_node=16' in args and '--master_port=29700' in args
    assert args[-5:] == [osp.join(REPO, 'tools', 'test.py'), 'cfg.py',
                         'ck.pth', '--launcher', 'pytorch']


@pytest.mark.parametrize('script,tail', [
    ('slurm_train.sh', ['cfg.py', '--work-dir=wd', '--launcher', 'slurm']),
    ('slurm_test.sh', ['cfg.py', 'wd', '--launcher', 'slurm']),
])
def test_slurm_scripts(script, tail, fake_bin):
    omp, args = launch(script, ['part', 'job', 'cfg.py', 'wd'], fake_bin,
                       GPUS='4', GPUS_PER_NODE='4', CPUS_PER_TASK='3')
    assert omp == '3'
    assert args[:2] == ['-p', 'part'] and '--job-name=job' in args
    assert '--ntasks=4' in args and '--gres=gpu:4' in args
    assert args[args.index('python'):][3:] == tail
