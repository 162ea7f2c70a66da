"""Reading the benchmark's feature files and the memory-mapped cache.

Feature files (docs/data.md, "On-disk layout"):

* ``.pkl`` (temporal, TCaF): pickle of ``{features: list of (T_i, D) float
  arrays, video_names: list of str, fps: list}``; read with the restricted
  unpickler.
* ``.h5`` (averaged, AVCA): datasets ``data`` ``(N, D)`` and ``video_urls``
  ``(N,)`` bytes; each clip becomes one step (``T = 1``).

The first load of a phase converts its clips into a cache folder::

    <cache_dir>/<name>-<fingerprint>/
        audio.npy          float32 [sum_i T_a_i, D_a]  all audio steps
        video.npy          float32 [sum_i T_v_i, D_v]
        audio_offsets.npy  int64 [N + 1]   clip i = audio[off[i]:off[i+1]]
        video_offsets.npy  int64 [N + 1]
        labels.npy         int64 [N]       class ids
        index.json         clip names, source files, widths, format version

The fingerprint hashes the source files (path, size, mtime) and the
arguments that change the content, so edited features rebuild the cache.
The folder is written under a temporary name and renamed into place
(atomic), arrays are streamed to disk clip by clip (an 80k-clip VGGSound
split never sits in RAM) and later loads use ``np.load(mmap_mode='r')``.
:class:`FeatureCache` opens the arrays lazily, once per process, so
DataLoader workers can use it after fork or spawn.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from stftbox.utils.progress import track
from .errors import DatasetError
from .safe_pickle import safe_load_pickle

__all__ = ['FEATURE_FORMATS', 'CACHE_VERSION', 'read_feature_file',
           'fingerprint', 'build_feature_cache', 'FeatureCache']

#: feature_format -> file suffix
FEATURE_FORMATS = {'pkl': '.pkl', 'h5': '.h5'}
#: bump when the cache layout changes
CACHE_VERSION = 1
_HEADER_BYTES = 128  # reserved .npy header (magic + len + dict, 64-aligned)


def _as_clip(arr, path: str, name: str, expected_dim: Optional[int],
             what: str) -> np.ndarray:
    """Validate one clip's features -> float32 ``[T, D]``."""
    try:
        a = np.asarray(arr, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: clip '{name}' features are not a "
                           'numeric array') from exc
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise DatasetError(f"{path}: clip '{name}' features have shape "
                           f'{a.shape}, expected (T, D) with T >= 1')
    if expected_dim is not None and a.shape[1] != expected_dim:
        raise DatasetError(
            f"{path}: clip '{name}' has feature width {a.shape[1]}, expected "
            f'{what}={expected_dim} (from the config)')
    if not np.isfinite(a).all():
        raise DatasetError(f"{path}: clip '{name}' has NaN/Inf feature "
                           'values')
    return a


def read_feature_file(path: str, feature_format: str,
                      expected_dim: Optional[int] = None,
                      what: str = 'channels'
                      ) -> Tuple[List[np.ndarray], List[str]]:
    """Read one ``<Class>.pkl`` / ``<Class>.h5`` feature file.

    Args:
        path: the file.
        feature_format: ``'pkl'`` or ``'h5'``.
        expected_dim: required feature width ``D`` (``None``: any, but the
            same for every clip).
        what: config name of the width for messages
            (``'audio_channels'``/``'video_channels'``).

    Returns:
        (features, names): list of float32 ``[T_i, D]`` arrays (``T_i = 1``
        for ``h5``) and the clip names, same order.

    Raises:
        DatasetError: unreadable file, wrong keys/shapes, width different
            from ``expected_dim``, NaN/Inf, duplicate names.
        UnsafePickleError: the pickle holds anything but numpy
            arrays/scalars and plain containers.
    """
    if feature_format == 'pkl':
        obj = safe_load_pickle(path)
        if not isinstance(obj, dict) or 'features' not in obj \
                or 'video_names' not in obj:
            keys = sorted(obj) if isinstance(obj, dict) else type(
                obj).__name__
            raise DatasetError(
                f"{path}: expected a dict with keys 'features', "
                f"'video_names', 'fps', found {keys}")
        feats, names = obj['features'], obj['video_names']
        try:
            feats, names = list(feats), [str(n) for n in names]
        except TypeError as exc:
            raise DatasetError(f"{path}: 'features' and 'video_names' must "
                               'be lists') from exc
    elif feature_format == 'h5':
        import h5py
        try:
            with h5py.File(path, 'r') as hf:
                if 'data' not in hf or 'video_urls' not in hf:
                    raise DatasetError(
                        f"{path}: expected h5 datasets 'data' (N, D) and "
                        f"'video_urls' (N,), found {sorted(hf.keys())}")
                data = np.asarray(hf['data'])
                urls = list(hf['video_urls'][()])
        except OSError as exc:
            raise DatasetError(f'{path}: not a readable h5 file '
                               f'({exc})') from exc
        if data.ndim != 2:
            raise DatasetError(f"{path}: 'data' has shape {data.shape}, "
                               'expected (N, D)')
        names = [u.decode('utf-8') if isinstance(u, bytes) else str(u)
                 for u in urls]
        feats = [data[i:i + 1] for i in range(data.shape[0])]
    else:
        raise DatasetError(f"feature_format '{feature_format}' unknown, "
                           f'expected one of {sorted(FEATURE_FORMATS)}')
    if len(feats) != len(names):
        raise DatasetError(f'{path}: {len(feats)} feature arrays but '
                           f'{len(names)} clip names')
    out, dim = [], expected_dim
    for f, n in zip(feats, names):
        a = _as_clip(f, path, n, dim, what)
        dim = a.shape[1]
        out.append(a)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:3]
        raise DatasetError(f'{path}: clip names listed twice: {dup}')
    return out, names


def fingerprint(files: Iterable[str], args: dict) -> str:
    """SHA-256 (hex, 16 chars) of ``(path, size, mtime_ns)`` of every file
    plus ``args`` (JSON-serialisable) and :data:`CACHE_VERSION`."""
    entries = []
    for p in sorted(set(files)):
        st = os.stat(p)
        entries.append([osp.abspath(p), st.st_size, st.st_mtime_ns])
    blob = json.dumps(dict(version=CACHE_VERSION, files=entries, args=args),
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode('utf-8')).hexdigest()[:16]


class _NpyStreamWriter:
    """Append float32 rows to an ``.npy`` file whose row count is only known
    at the end: the header is reserved up front and written on close."""

    def __init__(self, path: str):
        self.path = path
        self.f = open(path, 'wb')
        self.f.write(b'\0' * _HEADER_BYTES)
        self.rows = 0
        self.cols = None

    def append(self, a: np.ndarray):
        a = np.ascontiguousarray(a, dtype='<f4')
        if self.cols is None:
            self.cols = a.shape[1]
        self.f.write(a.tobytes())
        self.rows += a.shape[0]

    def close(self):
        header = ("{'descr': '<f4', 'fortran_order': False, 'shape': "
                  f"({self.rows}, {self.cols or 0}), }}")
        body = _HEADER_BYTES - 10  # magic(6) + version(2) + uint16 length
        header = header.ljust(body - 1) + '\n'
        assert len(header) == body
        self.f.seek(0)
        self.f.write(b'\x93NUMPY\x01\x00' + body.to_bytes(2, 'little')
                     + header.encode('latin1'))
        self.f.close()


def build_feature_cache(cache_path: str,
                        items: Sequence[Tuple[int, str, str]],
                        feature_format: str,
                        audio_channels: Optional[int],
                        video_channels: Optional[int],
                        meta: Optional[dict] = None,
                        progress: bool = False) -> str:
    """Convert the clips of ``items`` into the cache folder ``cache_path``.

    Audio and video clips are matched by name: both files of a pair must
    list the same clips; the audio order is kept.

    Args:
        cache_path: final folder (must not exist yet; if another process
            creates it first, its copy is kept and ours discarded).
        items: ``(class_id, audio_file, video_file)`` per class file pair.
        feature_format: ``'pkl'`` or ``'h5'``.
        audio_channels / video_channels: expected widths ``D_a``/``D_v``
            (``None``: take the first file's and require the same later).
        meta: extra JSON entries stored in ``index.json``.
        progress: show a progress bar over the file pairs (stdout).

    Returns:
        str: ``cache_path``.

    Raises:
        DatasetError: see :func:`read_feature_file`; audio and video files
            list different clips; no clip at all.
    """
    parent = osp.dirname(osp.abspath(cache_path))
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix='.tmp-' + osp.basename(cache_path),
                               dir=parent)
    except OSError as exc:
        raise DatasetError(
            f'{parent}: cannot create the feature cache ({exc.strerror}); '
            'set cache_dir= to a writable folder') from exc
    try:
        wa = _NpyStreamWriter(osp.join(tmp, 'audio.npy'))
        wv = _NpyStreamWriter(osp.join(tmp, 'video.npy'))
        a_off, v_off, labels, names = [0], [0], [], []
        da, dv = audio_channels, video_channels
        try:
            for label, apath, vpath in track(items, enabled=progress):
                afeat, anames = read_feature_file(apath, feature_format, da,
                                                  'audio_channels')
                vfeat, vnames = read_feature_file(vpath, feature_format, dv,
                                                  'video_channels')
                if afeat:
                    da = afeat[0].shape[1]
                if vfeat:
                    dv = vfeat[0].shape[1]
                if anames != vnames:
                    if set(anames) != set(vnames):
                        only_a = sorted(set(anames) - set(vnames))[:3]
                        only_v = sorted(set(vnames) - set(anames))[:3]
                        raise DatasetError(
                            f'{apath} and {vpath}: audio and video list '
                            f'different clips (only audio: {only_a}, only '
                            f'video: {only_v})')
                    pos = {n: i for i, n in enumerate(vnames)}
                    vfeat = [vfeat[pos[n]] for n in anames]
                for a, v, n in zip(afeat, vfeat, anames):
                    wa.append(a)
                    wv.append(v)
                    a_off.append(a_off[-1] + a.shape[0])
                    v_off.append(v_off[-1] + v.shape[0])
                    labels.append(int(label))
                    names.append(n)
        finally:
            wa.close()
            wv.close()
        if not names:
            files = sorted({p for _, a, v in items for p in (a, v)})[:4]
            raise DatasetError(f'{files}: the feature files of this split '
                               'hold no clips (empty split)')
        np.save(osp.join(tmp, 'audio_offsets.npy'),
                np.asarray(a_off, dtype=np.int64))
        np.save(osp.join(tmp, 'video_offsets.npy'),
                np.asarray(v_off, dtype=np.int64))
        np.save(osp.join(tmp, 'labels.npy'), np.asarray(labels, np.int64))
        index = dict(version=CACHE_VERSION, num_clips=len(names),
                     audio_channels=da, video_channels=dv, names=names,
                     sources=[[int(lb), a, v] for lb, a, v in items])
        index.update(meta or {})
        with open(osp.join(tmp, 'index.json'), 'w', encoding='utf-8') as f:
            json.dump(index, f)
        try:
            os.rename(tmp, cache_path)
        except OSError:
            if not osp.isdir(cache_path):  # a real failure, not a race
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return cache_path


class FeatureCache:
    """Read-only view of a cache folder written by
    :func:`build_feature_cache`.

    The small arrays (offsets, labels, names) are loaded at once; the
    feature arrays are memory-mapped (``np.load(mmap_mode='r')``) on first
    access in each process and never pickled, so the object can be sent to
    DataLoader workers.

    Args:
        path: the cache folder.

    Raises:
        DatasetError: folder incomplete (missing file) or wrong version.
    """

    FILES = ('audio.npy', 'video.npy', 'audio_offsets.npy',
             'video_offsets.npy', 'labels.npy', 'index.json')

    def __init__(self, path: str):
        self.path = path
        for name in self.FILES:
            if not osp.isfile(osp.join(path, name)):
                raise DatasetError(f'{osp.join(path, name)}: feature cache '
                                   'file missing; delete the folder to '
                                   'rebuild it')
        with open(osp.join(path, 'index.json'), encoding='utf-8') as f:
            index = json.load(f)
        if index.get('version') != CACHE_VERSION:
            raise DatasetError(f'{path}: cache version '
                               f"{index.get('version')}, expected "
                               f'{CACHE_VERSION}; delete it to rebuild')
        self.names: List[str] = index['names']
        self.audio_channels = index['audio_channels']
        self.video_channels = index['video_channels']
        self.audio_offsets = np.load(osp.join(path, 'audio_offsets.npy'))
        self.video_offsets = np.load(osp.join(path, 'video_offsets.npy'))
        self.labels = np.load(osp.join(path, 'labels.npy'))
        self._arrays = None
        self._pid = None

    def __len__(self):
        return len(self.labels)

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_arrays'] = None
        state['_pid'] = None
        return state

    def _open(self):
        if self._arrays is None or self._pid != os.getpid():
            self._arrays = (
                np.load(osp.join(self.path, 'audio.npy'), mmap_mode='r'),
                np.load(osp.join(self.path, 'video.npy'), mmap_mode='r'))
            self._pid = os.getpid()
        return self._arrays

    @property
    def audio(self) -> np.ndarray:
        """Memory-mapped float32 ``[sum T_a, D_a]``."""
        return self._open()[0]

    @property
    def video(self) -> np.ndarray:
        """Memory-mapped float32 ``[sum T_v, D_v]``."""
        return self._open()[1]

    def clip(self, idx: int) -> Tuple[np.ndarray, np.ndarray]:
        """Views ``(audio [T_a, D_a], video [T_v, D_v])`` of clip ``idx``
        (memory-mapped; copy before modifying)."""
        a, v = self._open()
        ao, vo = self.audio_offsets, self.video_offsets
        return a[ao[idx]:ao[idx + 1]], v[vo[idx]:vo[idx + 1]]
