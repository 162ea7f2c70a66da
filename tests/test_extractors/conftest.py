"""Session fixture: the raw-video mini benchmark of raw_fixture.py."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from raw_fixture import write_raw_benchmark  # noqa: E402


@pytest.fixture(scope='session')
def raw_benchmark(tmp_path_factory):
    """``dict(videos=folder, class_split=folder)``."""
    return write_raw_benchmark(tmp_path_factory.mktemp('raw'))
