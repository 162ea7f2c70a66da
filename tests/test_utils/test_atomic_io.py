"""Atomic writes of run artifacts: a failed write leaves the previous file
intact and no temporary file behind."""
import json
import os

import pytest

from stftbox.fileio.atomic_io import (atomic_write, atomic_write_bytes,
                                     dump_json_atomic)


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'sub' / 'results.json'
    dump_json_atomic(dict(HM=31.2), str(path))
    assert json.loads(path.read_text()) == dict(HM=31.2)
    with pytest.raises(OSError, match='No space left'):
        with atomic_write(str(path), 'w') as f:
            f.write('{"HM": 2')  # half written, then the disk is full
            raise OSError(28, 'No space left on device')
    assert json.loads(path.read_text()) == dict(HM=31.2)
    assert sorted(os.listdir(tmp_path / 'sub')) == ['results.json']


def test_permissions_like_open_and_mode_check(tmp_path):
    path = tmp_path / 'a.bin'
    atomic_write_bytes(str(path), b'\x00\x01')
    assert path.read_bytes() == b'\x00\x01'
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(str(path), 'a'):
            pass


def test_atomic_write_path_for_writers_that_open_by_name(tmp_path):
    """h5py / np.savez open a file by name: same guarantees."""
    import numpy as np

    from stftbox.fileio.atomic_io import atomic_write_path
    path = tmp_path / 'sub' / 'a.npz'
    old = os.umask(0o027)
    try:
        with atomic_write_path(str(path)) as tmp:
            assert os.path.dirname(tmp) == str(path.parent)
            np.savez(open(tmp, 'wb'), x=np.arange(3))
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o640
    np.testing.assert_array_equal(np.load(path)['x'], [0, 1, 2])
    with pytest.raises(RuntimeError, match='killed'):
        with atomic_write_path(str(path)) as tmp:
            open(tmp, 'wb').write(b'half')
            raise RuntimeError('killed')
    np.testing.assert_array_equal(np.load(path)['x'], [0, 1, 2])
    assert sorted(os.listdir(path.parent)) == ['a.npz']
