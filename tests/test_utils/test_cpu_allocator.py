"""glibc allocator tuning: applied by register_all_modules, opt-out works."""
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
                'GLIBC_TUNABLES'):
        full.pop(key, None)
    full.update(env)
    return subprocess.run([sys.executable, '-c', code], env=full, check=True,
                          capture_output=True, text=True).stdout.strip()


@glibc
def test_register_all_modules_tunes_the_allocator():
    code = ('from stftbox.apis import register_all_modules;'
            'register_all_modules();'
            'from stftbox.utils.cpu_allocator import _DONE; print(_DONE)')
    assert _run(code, STFTBOX_MALLOC_TUNING='1') == '{1073741824: True}'
    # opted out: nothing applied
    assert _run(code, STFTBOX_MALLOC_TUNING='0') == '{}'
    # the user's own glibc setting wins
    assert _run(code, MALLOC_MMAP_THRESHOLD_='65536') == '{}'
    assert _run(code, MALLOC_TRIM_THRESHOLD_='65536') == '{}'
    assert _run(code, GLIBC_TUNABLES='glibc.malloc.trim_threshold=1') == '{}'


@glibc
def test_tune_returns_false_when_opted_out(monkeypatch):
    monkeypatch.setenv(cpu_allocator.ALLOCATOR_ENV, '0')
    assert tune_cpu_allocator() is False


@pytest.mark.parametrize('bad', [0, -5, 2**31])
def test_bad_threshold_is_rejected(bad):
    with pytest.raises(ValueError, match='threshold_bytes must be in'):
        tune_cpu_allocator(bad)
