"""Fixtures of tests/test_datasets (helpers live in avgzsl_fixture.py)."""
import pytest
from avgzsl_fixture import write_layout


@pytest.fixture
def layout(tmp_path):
    """Factory: ``layout(fmt='pkl', name='UCF', **kw)`` -> (data_root,
    clips); writes the fixture of avgzsl_fixture.py under tmp_path."""

    def make(fmt='pkl', name='UCF', **kw):
        root = str(tmp_path / name)
        return root, write_layout(root, fmt=fmt, **kw)

    return make
