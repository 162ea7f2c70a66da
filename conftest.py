"""Test-session set-up for every test folder (tests/ and projects/*/tests):
``STFTBOX_HOME`` (where generated data and downloads go) is a fresh
temporary folder, inherited by the tools the tests start, so tests never
write into the user's ``~/.cache/stftbox``."""
import os
import shutil
import tempfile

_HOME = {}


def pytest_configure(config):
    _HOME['old'] = os.environ.get('STFTBOX_HOME')
    _HOME['tmp'] = tempfile.mkdtemp(prefix='stftbox-home-')
    os.environ['STFTBOX_HOME'] = _HOME['tmp']


def pytest_unconfigure(config):
    if _HOME.get('old') is None:
        os.environ.pop('STFTBOX_HOME', None)
    else:
        os.environ['STFTBOX_HOME'] = _HOME['old']
    shutil.rmtree(_HOME.get('tmp', ''), ignore_errors=True)
