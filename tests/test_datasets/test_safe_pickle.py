"""The restricted unpickler of stftbox.datasets.safe_pickle."""
import os
import pickle

import numpy as np
import pytest

from stftbox.datasets import (DatasetError, UnsafePickleError,
                              safe_load_npy, safe_load_pickle, safe_loads)


class Evil:

    def __reduce__(self):
        return (os.system, ('echo unpickled',))


class Plain:
    pass


@pytest.mark.parametrize('protocol', [2, 3, 4, 5])
def test_accepts_numpy_and_plain_containers(protocol):
    obj = dict(features=[np.arange(6, dtype=np.float32).reshape(2, 3),
                         np.ones((1, 3), np.float16)],
               video_names=['a', 'b'], fps=[np.float64(25.0), 29.97, 3],
               extra=(True, None, b'x', {'k': np.int64(7)}))
    got = safe_loads(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(got['features'][0], obj['features'][0])
    assert got['features'][1].dtype == np.float16
    assert got['video_names'] == ['a', 'b']
    assert got['fps'] == [25.0, 29.97, 3]
    assert got['extra'] == (True, None, b'x', {'k': 7})


@pytest.mark.parametrize('payload,refused', [
    (Evil(), f'{os.system.__module__}.system'),
    (Plain(), f'{__name__}.Plain'),
    ({1, 2}, '__builtin__.set'),  # protocol 2 spells builtins so
])
def test_refuses_other_globals(tmp_path, payload, refused):
    path = tmp_path / 'x.pkl'
    path.write_bytes(pickle.dumps({'features': [payload]}, protocol=2))
    with pytest.raises(UnsafePickleError) as err:
        safe_load_pickle(path)
    msg = str(err.value)
    assert str(path) in msg and f"global '{refused}'" in msg


def test_npy_dict_and_plain_arrays(tmp_path):
    p = tmp_path / 'emb.npy'
    np.save(p, np.array({'a b': np.ones(3, np.float32)}, dtype=object),
            allow_pickle=True)
    d = safe_load_npy(p).item()
    assert list(d) == ['a b'] and d['a b'].tolist() == [1, 1, 1]
    q = tmp_path / 'plain.npy'
    np.save(q, np.arange(4))
    assert safe_load_npy(q).tolist() == [0, 1, 2, 3]
    r = tmp_path / 'evil.npy'
    np.save(r, np.array([Evil()], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError, match="global '.*system'"):
        safe_load_npy(r)


def test_corrupt_and_missing_files(tmp_path):
    p = tmp_path / 'trunc.pkl'
    p.write_bytes(pickle.dumps({'a': [1, 2, 3]})[:-4])
    with pytest.raises(DatasetError, match='trunc.pkl: not a readable '
                       'pickle'):
        safe_load_pickle(p)
    with pytest.raises(DatasetError, match='cannot read'):
        safe_load_pickle(tmp_path / 'none.pkl')
    q = tmp_path / 'x.npy'
    q.write_bytes(b'not numpy')
    with pytest.raises(DatasetError, match='x.npy: not a valid .npy'):
        safe_load_npy(q)
