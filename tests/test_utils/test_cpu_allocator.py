"""glibc allocator tuning: never a side effect of importing stftbox, an
explicit opt-in of the tools; opt-out and the user's own settings win."""
import os
import subprocess
import sys

import pytest

from stftbox.utils import cpu_allocator, tune_cpu_allocator

glibc = pytest.mark.skipif(not sys.platform.startswith('linux'),
                           reason='glibc mallopt only on Linux')


def _run(code: str, **env) -> str:
    full = dict(os.environ)
    for key in ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_',
                'GLIBC_TUNABLES', cpu_allocator.ALLOCATOR_ENV):
        full.pop(key, None)
    full.update(env)
    return subprocess.run([sys.executable, '-c', code], env=full, check=True,
                          capture_output=True, text=True).stdout.strip()


SHOW = 'from stftbox.utils.cpu_allocator import _DONE; print(_DONE)'


@glibc
def test_import_and_init_model_leave_the_allocator_alone():
    code = ('import stftbox; from stftbox.apis import register_all_modules, '
            'init_model; register_all_modules();' + SHOW)
    assert _run(code) == '{}'
    # the env alone does nothing without a tool asking
    assert _run(code, STFTBOX_MALLOC_TUNING='1') == '{}'


@glibc
def test_tools_opt_in():
    code = ('from stftbox.utils import tune_if_requested;'
            'print(tune_if_requested({flag}));' + SHOW)
    assert _run(code.format(flag=False)) == 'False\n{}'
    assert _run(code.format(flag=True)) == 'True\n{1073741824: True}'
    assert _run(code.format(flag=False), STFTBOX_MALLOC_TUNING='1') == \
        'True\n{1073741824: True}'
    # opted out: nothing applied, even with the flag
    assert _run(code.format(flag=True), STFTBOX_MALLOC_TUNING='0') == \
        'False\n{}'
    # the user's own glibc setting wins
    for env in (dict(MALLOC_MMAP_THRESHOLD_='65536'),
                dict(MALLOC_TRIM_THRESHOLD_='65536'),
                dict(GLIBC_TUNABLES='glibc.malloc.trim_threshold=1')):
        assert _run(code.format(flag=True), **env) == 'False\n{}'


@glibc
def test_tune_returns_false_when_opted_out(monkeypatch):
    monkeypatch.setenv(cpu_allocator.ALLOCATOR_ENV, '0')
    assert tune_cpu_allocator() is False


@pytest.mark.parametrize('bad', [0, -5, 2**31])
def test_bad_threshold_is_rejected(bad):
    with pytest.raises(ValueError, match='threshold_bytes must be in'):
        tune_cpu_allocator(bad)
