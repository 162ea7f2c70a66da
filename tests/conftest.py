"""Fixtures shared by tests/ (helpers live in utils_helpers.py): a local HTTP server and an isolated STFTBOX_HOME."""
import pytest
from utils_helpers import LocalServer


@pytest.fixture
def http_server():
    server = LocalServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """STFTBOX_HOME in tmp; no mirror from the environment."""
    home = tmp_path / 'stftbox_home'
    monkeypatch.setenv('STFTBOX_HOME', str(home))
    monkeypatch.delenv('STFTBOX_MIRROR', raising=False)
    monkeypatch.delenv('STFTBOX_DATA_MIRROR', raising=False)
    return home
