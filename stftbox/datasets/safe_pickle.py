"""Restricted loading of the benchmark's pickles.

The published temporal features
(``features/<method>/{audio,video}/<split>/<Class>.pkl``) and the class-name
embeddings (``word_embeddings_<ds>_normed.npy``, an ``np.save`` of a dict,
i.e. a pickled 0-d object array) are Python pickles.
Unpickling runs arbitrary code, so ``docs/data.md`` ("On-disk layout", last
paragraph) asks for a restricted unpickler. :class:`RestrictedUnpickler` only
resolves the globals that numpy needs to rebuild arrays, dtypes and scalars
(plus the plain builtins ``list``, ``dict``, ``tuple``, ``str``, ``int``,
``float``, ``bool`` and ``_codecs.encode``, which protocol-2 pickles use to
store bytes); any other global (``os.system``, a custom class, ...) raises
:class:`~stftbox.datasets.errors.UnsafePickleError` naming the file and the
refused ``module.name``. Never call ``pickle.load`` or
``np.load(allow_pickle=True)`` on user files; use :func:`safe_load_pickle` /
:func:`safe_load_npy`.
"""
import builtins
import io
import os
import pickle

import numpy as np

from .errors import DatasetError, UnsafePickleError

__all__ = ['RestrictedUnpickler', 'safe_load_pickle', 'safe_loads',
           'safe_load_npy', 'ALLOWED_GLOBALS']


def _numpy_attr(*paths):
    """First importable object among dotted ``module:name`` paths."""
    import importlib
    for path in paths:
        module, name = path.split(':')
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return None


def _build_allowed():
    reconstruct = _numpy_attr('numpy._core.multiarray:_reconstruct',
                              'numpy.core.multiarray:_reconstruct')
    scalar = _numpy_attr('numpy._core.multiarray:scalar',
                         'numpy.core.multiarray:scalar')
    frombuffer = _numpy_attr('numpy._core.numeric:_frombuffer',
                             'numpy.core.numeric:_frombuffer')
    import _codecs
    allowed = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        ('_codecs', 'encode'): _codecs.encode,
    }
    # numpy 1.x pickles say ``numpy.core``, numpy 2.x ``numpy._core``
    for core in ('numpy.core', 'numpy._core'):
        if reconstruct is not None:
            allowed[(f'{core}.multiarray', '_reconstruct')] = reconstruct
        if scalar is not None:
            allowed[(f'{core}.multiarray', 'scalar')] = scalar
        if frombuffer is not None:
            allowed[(f'{core}.numeric', '_frombuffer')] = frombuffer
    for name in ('list', 'dict', 'tuple', 'str', 'int', 'float', 'bool'):
        for module in ('builtins', '__builtin__'):
            allowed[(module, name)] = getattr(builtins, name)
    return allowed


#: ``{(module, name): object}`` of every global a benchmark pickle may use.
ALLOWED_GLOBALS = _build_allowed()


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`ALLOWED_GLOBALS`.

    Args:
        file: binary file object positioned at the pickle stream.
        source (str): file name used in error messages.

    Raises:
        UnsafePickleError: on any other global, e.g. ``os.system`` or a
            user class; the message is ``"<source>: refused to unpickle
            global 'module.name' ..."``.
    """

    def __init__(self, file, source='<pickle>'):
        super().__init__(file)
        self.source = str(source)

    def find_class(self, module, name):  # noqa: D102
        obj = ALLOWED_GLOBALS.get((module, name))
        if obj is None:
            raise UnsafePickleError(
                f'{self.source}: refused to unpickle global '
                f"'{module}.{name}'; benchmark pickles may only hold numpy "
                'arrays/dtypes/scalars, list, dict, tuple, str, int, float, '
                'bool and None')
        return obj

    def persistent_load(self, pid):  # noqa: D102
        raise UnsafePickleError(
            f'{self.source}: refused persistent id {pid!r} in pickle')


def _unpickle(fileobj, source):
    try:
        return RestrictedUnpickler(fileobj, source).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # truncated / corrupt stream
        raise DatasetError(
            f'{source}: not a readable pickle ({type(exc).__name__}: '
            f'{exc})') from exc


def safe_loads(data, source='<bytes>'):
    """Unpickle ``data`` (bytes) with :class:`RestrictedUnpickler`.

    Raises:
        UnsafePickleError: a refused global (message names ``source``).
        DatasetError: corrupt or truncated stream.
    """
    return _unpickle(io.BytesIO(data), source)


def safe_load_pickle(path):
    """Load a pickle file holding only numpy arrays and plain containers.

    Args:
        path (str | os.PathLike): e.g. a temporal feature file
            ``features/<method>/audio/stage_1_train/Archery.pkl``.

    Returns:
        The unpickled object (for the benchmark: a dict with ``features``,
        ``video_names``, ``fps``).

    Raises:
        DatasetError: file missing, unreadable or corrupt.
        UnsafePickleError: the pickle references any other global.
    """
    path = os.fspath(path)
    try:
        with open(path, 'rb') as f:
            return _unpickle(f, path)
    except OSError as exc:
        raise DatasetError(f'{path}: cannot read ({exc.strerror})') from exc


def safe_load_npy(path):
    """``np.load`` replacement that unpickles object arrays safely.

    Plain numeric ``.npy`` files are read with ``allow_pickle=False``. For an
    object array (``np.save`` of a dict or list) the header is parsed with
    ``np.lib.format`` and the pickled payload is read with
    :class:`RestrictedUnpickler`.

    Args:
        path (str | os.PathLike): e.g.
            ``features/<method>/text/word_embeddings_ucf_normed.npy``.

    Returns:
        np.ndarray: the stored array (a 0-d object array for a saved dict;
        call ``.item()``).

    Raises:
        DatasetError: missing, not an ``.npy`` file, or corrupt.
        UnsafePickleError: the payload references a refused global.
    """
    path = os.fspath(path)
    fmt = np.lib.format
    try:
        with open(path, 'rb') as f:
            try:
                version = fmt.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = fmt.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = fmt.read_array_header_2_0(f)
                else:
                    raise ValueError(f'unsupported .npy version {version}')
            except ValueError as exc:
                raise DatasetError(
                    f'{path}: not a valid .npy file ({exc})') from exc
            if not dtype.hasobject:
                f.seek(0)
                return np.load(f, allow_pickle=False)
            arr = _unpickle(f, path)
    except OSError as exc:
        raise DatasetError(f'{path}: cannot read ({exc.strerror})') from exc
    if not isinstance(arr, np.ndarray):
        raise DatasetError(f'{path}: object payload is a '
                           f'{type(arr).__name__}, expected an ndarray')
    return arr
