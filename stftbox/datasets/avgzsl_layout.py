"""The published AV-GZSL feature archives: names, safe unpacking, layout check.

Layout (``docs/data.md``, "On-disk layout"), root =
``avgzsl_benchmark_non_averaged_datasets/<Dataset>/``::

    class-split/all_class.txt
    class-split/<ds>_w2v_class_names.csv                 (original,manual)
    class-split/{main_split,cls_split}/<split>.{txt,csv}
    features/<method>/{audio,video}/<split>/<ClassName>.pkl  (or .h5)
    features/<method>/text/word_embeddings_<ds>_normed.npy

The archives ``{vggsound,ucf,activitynet}-{supervised,selavi}-temporal.zip``
(TCaF-GZSL, ECCV 2022) are unpacked with ``unzip X.zip -d
avgzsl_benchmark_non_averaged_datasets/``. The temporal C3D/VGGish features
use ``<method> = cls_features_non_averaged`` with ``cls_split``, SeLaVi uses
``main_features_non_averaged`` with ``main_split`` (TCaF's configs); the
alternative names ``*_features_non_diff`` / ``*_features`` are accepted.

This module does not depend on the dataset classes; pickles are read only
through the restricted unpickler of :mod:`stftbox.datasets.safe_pickle`.
"""
import csv
import os
import os.path as osp
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field

from stftbox.fileio.download import apply_mirror
from stftbox.utils.progress import track

__all__ = [
    'AVGZSL_FEATURE_BASE_URL', 'DATASET_DIRS', 'FEATURE_TYPES',
    'SPLIT_NAMES', 'FEATURE_SPLITS', 'UnsafeArchiveError',
    'canonical_dataset', 'canonical_features', 'feature_archive_name',
    'feature_archive_url', 'safe_extract_zip', 'LayoutReport',
    'check_avgzsl_layout'
]

#: where the TCaF authors publish the temporal feature archives
AVGZSL_FEATURE_BASE_URL = 'https://s3.mlcloud.uni-tuebingen.de/tcaf-gzsl/'
#: dataset key -> folder name under avgzsl_benchmark_non_averaged_datasets/
DATASET_DIRS = {'vggsound': 'VGGSound', 'ucf': 'UCF',
                'activitynet': 'ActivityNet'}
#: feature type -> method folder names (first = TCaF's), split kind and the
#: published feature widths (audio, video)
FEATURE_TYPES = {
    'supervised': dict(methods=('cls_features_non_averaged',
                                'cls_features_non_diff', 'cls_features'),
                       split='cls_split', widths=dict(audio=128,
                                                      video=4096)),
    'selavi': dict(methods=('main_features_non_averaged',
                            'main_features_non_diff', 'main_features'),
                   split='main_split', widths=dict(audio=512, video=512)),
}
_FEATURE_ALIASES = {'supervised': 'supervised', 'cls': 'supervised',
                    'c3d': 'supervised', 'c3d-vggish': 'supervised',
                    'selavi': 'selavi', 'main': 'selavi'}
#: the six split files of class-split/{main_split,cls_split}/
SPLIT_NAMES = ('stage_1_train', 'stage_1_val_seen', 'stage_1_val_unseen',
               'stage_2_train', 'stage_2_test_seen', 'stage_2_test_unseen')
#: splits that have feature folders (stage 2 trains on the stage-1 folders)
FEATURE_SPLITS = ('stage_1_train', 'stage_1_val_seen', 'stage_1_val_unseen',
                  'stage_2_test_seen', 'stage_2_test_unseen')
_MODALITIES = ('audio', 'video')
_LIST_LIMIT = 12


class UnsafeArchiveError(ValueError):
    """A zip member has an absolute path, a ``..`` component, is a symbolic
    link, or would land outside the target folder; nothing was
    extracted."""


def canonical_dataset(name):
    """``'VGGSound'``/``'vggsound'``/... -> ``'vggsound'``.

    Raises:
        ValueError: unknown dataset (message lists the choices).
    """
    key = str(name).lower().replace('-gzsl', '')
    if key not in DATASET_DIRS:
        raise ValueError(f'unknown dataset {name!r}; choose from '
                         f'{sorted(DATASET_DIRS)}')
    return key


def canonical_features(name):
    """``'supervised'``/``'cls'`` -> ``'supervised'``; ``'selavi'``/
    ``'main'`` -> ``'selavi'``.

    Raises:
        ValueError: unknown feature type.
    """
    key = _FEATURE_ALIASES.get(str(name).lower())
    if key is None:
        raise ValueError(f'unknown feature type {name!r}; choose from '
                         'supervised (alias cls) or selavi (alias main)')
    return key


def feature_archive_name(dataset, features):
    """Zip name, e.g. ``ucf-supervised-temporal.zip``.

    Raises:
        ValueError: unknown dataset or feature type.
    """
    return (f'{canonical_dataset(dataset)}-{canonical_features(features)}'
            '-temporal.zip')


def feature_archive_url(dataset, features, mirror=None,
                        env='STFTBOX_DATA_MIRROR'):
    """Download URL of a feature archive.

    Args:
        dataset (str): ``vggsound`` | ``ucf`` | ``activitynet``.
        features (str): ``supervised`` (cls) | ``selavi`` (main).
        mirror (str, optional): base URL replacing
            :data:`AVGZSL_FEATURE_BASE_URL`; default ``$<env>``.
        env (str): environment variable of the default mirror.

    Returns:
        str: the URL.

    Raises:
        ValueError: unknown dataset/feature type or malformed mirror.
    """
    url = AVGZSL_FEATURE_BASE_URL + feature_archive_name(dataset, features)
    return apply_mirror(url, mirror, (AVGZSL_FEATURE_BASE_URL, ), env=env)


# ---------------------------------------------------------------------------
# unpacking


def _member_parts(info):
    name = info.filename
    if name.startswith(('/', '\\')) or (len(name) > 1 and name[1] == ':'):
        raise UnsafeArchiveError(f'absolute path in archive: {name!r}')
    parts = [p for p in name.replace('\\', '/').split('/') if p not in ('',
                                                                        '.')]
    if '..' in parts:
        raise UnsafeArchiveError(f"'..' in archive member: {name!r}")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeArchiveError(f'symbolic link in archive: {name!r}')
    return parts


def _plan(infos, dataset_dir):
    """member -> path parts relative to the dataset root."""
    others = {d.lower() for d in DATASET_DIRS.values()} - {dataset_dir.lower()}
    plan = []
    for info in infos:
        parts = _member_parts(info)
        if not parts or parts[0] == '__MACOSX' or parts[-1] == '.DS_Store':
            continue
        cut = next((i for i, p in enumerate(parts)
                    if p in ('features', 'class-split')), None)
        prefix = parts[:cut] if cut is not None else parts[:-1]
        wrong = [p for p in prefix if p.lower() in others]
        if wrong:
            raise UnsafeArchiveError(
                f'archive member {info.filename!r} belongs to dataset '
                f'{wrong[0]!r}, not {dataset_dir!r}')
        if cut is not None:
            rel = parts[cut:]
        else:
            known = {'avgzsl_benchmark_non_averaged_datasets',
                     dataset_dir.lower()}
            rel = list(parts)
            while len(rel) > 1 and rel[0].lower() in known:
                rel = rel[1:]
        if info.is_dir():
            continue
        plan.append((info, rel))
    return plan


def safe_extract_zip(zip_path, dataset_root, dataset=None, progress=False):
    """Unpack a feature archive into a dataset root, refusing unsafe members.

    Every member is checked before anything is written: absolute paths,
    ``..`` components and symbolic links are refused. Leading folders before
    ``features/`` or ``class-split/`` (``avgzsl_benchmark_non_averaged_
    datasets/``, ``UCF/``, ...) are stripped, so the archive's
    ``<Dataset>/features/...`` lands in ``<dataset_root>/features/...``.
    The whole archive is first unpacked (zip CRC checked) into a hidden
    sibling folder ``.<Dataset>.unpacking-*`` and only then moved into
    ``dataset_root`` (one atomic rename when it is new), so a corrupt or
    interrupted extraction never looks like a dataset.

    Args:
        zip_path (str): the archive.
        dataset_root (str): e.g. ``data/avgzsl_benchmark_non_averaged_
            datasets/UCF``; created if missing.
        dataset (str, optional): dataset key or folder name; members that
            belong to another dataset's folder are refused. Defaults to the
            basename of ``dataset_root``.
        progress (bool): show a progress bar over the members (stdout).

    Returns:
        list[str]: extracted file paths.

    Raises:
        UnsafeArchiveError: unsafe member or wrong dataset (nothing
            extracted).
        zipfile.BadZipFile: not a zip / corrupt (CRC) member (nothing
            extracted).
    """
    dataset_dir = DATASET_DIRS[canonical_dataset(dataset)] if dataset else \
        osp.basename(osp.normpath(dataset_root))
    dataset_root = osp.abspath(dataset_root)
    parent = osp.dirname(dataset_root)
    with zipfile.ZipFile(zip_path) as zf:
        plan = _plan(zf.infolist(), dataset_dir)  # refuses before writing
        os.makedirs(parent, exist_ok=True)
        # unpack into a hidden sibling folder first: an interrupted or
        # corrupt extraction never leaves files under dataset_root
        tmp_root = tempfile.mkdtemp(
            dir=parent, prefix=f'.{osp.basename(dataset_root)}.unpacking-')
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_root, 0o777 & ~umask)  # mkdtemp makes it 0o700
        try:
            rels = []
            for info, rel in track(plan, enabled=progress):
                target = osp.join(tmp_root, *rel)
                if not osp.realpath(target).startswith(
                        osp.realpath(tmp_root) + os.sep):
                    raise UnsafeArchiveError(
                        f'archive member {info.filename!r} would be written '
                        f'outside {dataset_root}')
                os.makedirs(osp.dirname(target), exist_ok=True)
                with zf.open(info) as src, open(target, 'wb') as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)  # checks the CRC
                rels.append(rel)
            written = _commit_tree(tmp_root, dataset_root, rels)
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return written


def _commit_tree(tmp_root, dataset_root, rels):
    """Move a complete extraction into place: one atomic rename when
    ``dataset_root`` is new, else file by file (``os.replace``) into the
    existing root (another feature archive of the same dataset)."""
    if not osp.exists(dataset_root):
        os.rename(tmp_root, dataset_root)
        return [osp.join(dataset_root, *rel) for rel in rels]
    root_real = osp.realpath(dataset_root)
    written = []
    for rel in rels:
        target = osp.join(root_real, *rel)
        if not osp.realpath(target).startswith(root_real + os.sep):
            raise UnsafeArchiveError(
                f'archive member {"/".join(rel)!r} would be written outside '
                f'{dataset_root}')
        os.makedirs(osp.dirname(target), exist_ok=True)
        os.replace(osp.join(tmp_root, *rel), target)
        written.append(target)
    return written


# ---------------------------------------------------------------------------
# layout check


@dataclass
class LayoutReport:
    """Result of :func:`check_avgzsl_layout`.

    Attributes:
        root (str): dataset root checked.
        method (str | None): feature folder under ``features/``.
        split_kind (str | None): ``cls_split`` or ``main_split``.
        missing (list[str]): required files/folders that are absent
            (relative to ``root``).
        errors (list[str]): unreadable or inconsistent content.
        warnings (list[str]): suspicious but usable.
        info (dict): counts and widths (``widths``: modality -> feature
            width; ``clips``: ``'<modality>/<split>'`` -> clip count).
    """
    root: str
    method: str = None
    split_kind: str = None
    missing: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def ok(self):
        """True when nothing is missing and nothing is wrong."""
        return not self.missing and not self.errors

    def format(self):
        """Human-readable multi-line report (str)."""
        head = (f'AV-GZSL layout check of {self.root} (features: '
                f'{self.method or "?"}, split: {self.split_kind or "?"}): ')
        n = len(self.missing) + len(self.errors)
        lines = [head + ('OK' if self.ok else f'{n} problem(s)')]
        lines += [f'  MISSING  {m}' for m in self.missing]
        lines += [f'  ERROR    {e}' for e in self.errors]
        lines += [f'  WARNING  {w}' for w in self.warnings]
        widths = self.info.get('widths')
        if widths:
            lines.append('  widths   ' + ', '.join(
                f'{k}={v}' for k, v in sorted(widths.items())))
        clips = self.info.get('clips')
        if clips:
            lines.append('  clips    ' + ', '.join(
                f'{k}={v}' for k, v in sorted(clips.items())))
        return '\n'.join(lines)


def _short(items):
    items = list(items)
    text = ', '.join(items[:_LIST_LIMIT])
    if len(items) > _LIST_LIMIT:
        text += f', ... ({len(items) - _LIST_LIMIT} more)'
    return text


def _read_lines(path):
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def _dataset_key(root):
    base = osp.basename(osp.normpath(root)).lower()
    for key, folder in DATASET_DIRS.items():
        if folder.lower() == base:
            return key
    return base


def _check_class_split(root, kinds, report):
    """all_class.txt + split files; returns {kind: {split: [classes]}}."""
    split_dir = osp.join(root, 'class-split')
    all_path = osp.join(split_dir, 'all_class.txt')
    all_classes = []
    if osp.isfile(all_path):
        all_classes = _read_lines(all_path)
        if not all_classes:
            report.errors.append('class-split/all_class.txt is empty')
        dup = sorted({c for c in all_classes if all_classes.count(c) > 1})
        if dup:
            report.errors.append('class-split/all_class.txt lists classes '
                                 f'twice: {_short(dup)}')
    else:
        report.missing.append('class-split/all_class.txt')
    known = {c.lower() for c in all_classes}
    report.info['n_classes'] = len(all_classes)
    classes = {}
    for kind in kinds:
        classes[kind] = {}
        for split in SPLIT_NAMES:
            txt = osp.join(split_dir, kind, f'{split}.txt')
            csv_path = osp.join(split_dir, kind, f'{split}.csv')
            if osp.isfile(txt):
                names = _read_lines(txt)
                classes[kind][split] = names
                unknown = [c for c in names if known and c.lower() not in
                           known]
                if unknown:
                    report.errors.append(
                        f'class-split/{kind}/{split}.txt names classes not in '
                        f'all_class.txt: {_short(unknown)}')
            else:
                report.missing.append(f'class-split/{kind}/{split}.txt')
            if osp.isfile(csv_path):
                with open(csv_path, encoding='utf-8', newline='') as f:
                    header = next(csv.reader(f), [])
                lacking = [c for c in ('filename', 'label', 'label_code')
                           if c not in {h.strip() for h in header}]
                if lacking:
                    report.errors.append(
                        f'class-split/{kind}/{split}.csv: header {header} '
                        f'lacks the column(s) {lacking}')
            else:
                report.missing.append(f'class-split/{kind}/{split}.csv')
    return classes


def _pick_method(root, features, method, report):
    feat_dir = osp.join(root, 'features')
    present = sorted(d for d in os.listdir(feat_dir)
                     if osp.isdir(osp.join(feat_dir, d))) \
        if osp.isdir(feat_dir) else []
    if method is not None:
        kind = None
        for ftype in FEATURE_TYPES.values():
            if method in ftype['methods']:
                kind = ftype['split']
        if kind is None:
            kind = 'main_split' if method.startswith('main') else 'cls_split'
        return method, kind
    types = [canonical_features(features)] if features else \
        list(FEATURE_TYPES)
    for ftype in types:
        for cand in FEATURE_TYPES[ftype]['methods']:
            if cand in present:
                return cand, FEATURE_TYPES[ftype]['split']
    want = FEATURE_TYPES[types[0]]
    report.missing.append(f'features/{want["methods"][0]}/ (present under '
                          f'features/: {_short(present) or "nothing"})')
    return None, want['split']


def _read_feature_file(path):
    """-> (widths set, video names list) of one class file."""
    if path.endswith('.h5'):
        import h5py
        with h5py.File(path, 'r') as f:
            data = f['data']
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in f['video_urls'][()]]
            if data.ndim != 2:
                raise ValueError(f'`data` has shape {data.shape}, expected '
                                 '(N, D)')
            return {int(data.shape[1])}, names
    from .safe_pickle import safe_load_pickle
    obj = safe_load_pickle(path)
    if not isinstance(obj, dict) or 'features' not in obj or \
            'video_names' not in obj:
        raise ValueError('expected a dict with keys features, video_names, '
                         f'fps; got {type(obj).__name__} '
                         f'{sorted(obj)[:5] if isinstance(obj, dict) else ""}')
    feats, names = obj['features'], [str(n) for n in obj['video_names']]
    if len(feats) != len(names):
        raise ValueError(f'{len(feats)} feature arrays but {len(names)} '
                         'video names')
    widths = set()
    for i, arr in enumerate(feats):
        shape = getattr(arr, 'shape', None)
        if shape is None or len(shape) != 2:
            raise ValueError(f'clip {i} ({names[i]}): shape {shape}, '
                             'expected (T, D)')
        widths.add(int(shape[1]))
    return widths, names


def _check_features(root, method, kind, classes, read_features, max_files,
                    report):
    base = osp.join(root, 'features', method)
    widths = {m: set() for m in _MODALITIES}
    clips = {}
    names_by = {}
    for modality in _MODALITIES:
        for split in FEATURE_SPLITS:
            rel_dir = f'features/{method}/{modality}/{split}'
            folder = osp.join(base, modality, split)
            if not osp.isdir(folder):
                report.missing.append(rel_dir + '/')
                continue
            files = {}
            for fname in os.listdir(folder):
                stem, ext = osp.splitext(fname)
                if ext in ('.pkl', '.h5'):
                    files[stem.lower()] = fname
            wanted = classes.get(kind, {}).get(split)
            if wanted is not None:
                absent = [c for c in wanted if c.lower() not in files]
                for c in absent:
                    report.missing.append(f'{rel_dir}/{c}.pkl')
                extra = sorted(set(files) - {c.lower() for c in wanted})
                if extra:
                    report.warnings.append(
                        f'{rel_dir}: files of classes not in '
                        f'class-split/{kind}/{split}.txt (ignored by the '
                        f'loader): {_short(files[e] for e in extra)}')
            if not read_features:
                continue
            count = 0
            for i, stem in enumerate(sorted(files)):
                if max_files is not None and i >= max_files:
                    break
                path = osp.join(folder, files[stem])
                try:
                    w, names = _read_feature_file(path)
                except Exception as exc:  # report, keep checking
                    msg = str(exc)
                    if msg.startswith(path + ': '):
                        msg = msg[len(path) + 2:]
                    report.errors.append(f'{rel_dir}/{files[stem]}: '
                                         f'unreadable ({msg})')
                    continue
                widths[modality] |= w
                count += len(names)
                names_by[(modality, split, stem)] = (
                    osp.splitext(files[stem])[0], names)
            clips[f'{modality}/{split}'] = count
    for modality, ws in widths.items():
        if len(ws) > 1:
            report.errors.append(f'{modality} features of {method} have '
                                 f'inconsistent widths {sorted(ws)}')
    for (modality, split, stem), (fname, names) in names_by.items():
        if modality != 'audio':
            continue
        other = names_by.get(('video', split, stem), (None, None))[1]
        if other is not None and sorted(other) != sorted(names):
            report.errors.append(
                f'features/{method}/{{audio,video}}/{split}/{fname}: audio '
                f'has {len(names)} clips, video {len(other)}, or the video '
                'names differ')
    report.info['clips'] = clips
    report.info['widths'] = {m: sorted(w)[0] for m, w in widths.items()
                             if len(w) == 1}
    for ftype in FEATURE_TYPES.values():
        if method in ftype['methods']:
            for m, w in report.info['widths'].items():
                if w != ftype['widths'][m]:
                    report.warnings.append(
                        f'{m} width {w} differs from the published '
                        f'{ftype["widths"][m]} for {method}')


def _check_text(root, method, dskey, classes, report):
    rel = f'features/{method}/text/word_embeddings_{dskey}_normed.npy'
    path = osp.join(root, rel)
    if not osp.isfile(path):
        text_dir = osp.dirname(path)
        present = sorted(os.listdir(text_dir)) if osp.isdir(text_dir) else []
        report.missing.append(rel + (f' (text/ holds: {_short(present)})'
                                     if present else ''))
        return
    from .safe_pickle import safe_load_npy
    try:
        arr = safe_load_npy(path)
        table = arr.item() if arr.shape == () else None
        if not isinstance(table, dict):
            raise ValueError('expected np.save of a dict {name: vector}')
    except Exception as exc:
        report.errors.append(f'{rel}: unreadable ({exc})')
        return
    widths = {tuple(getattr(v, 'shape', ())) for v in table.values()}
    if len(widths) != 1 or len(next(iter(widths))) != 1:
        report.errors.append(f'{rel}: vectors have shapes {sorted(widths)}, '
                             'expected one common (D,)')
    else:
        report.info.setdefault('widths', {})['text'] = next(iter(widths))[0]
    mapping_rel = f'class-split/{dskey}_w2v_class_names.csv'
    mapping_path = osp.join(root, mapping_rel)
    mapping = {}
    if osp.isfile(mapping_path):
        with open(mapping_path, encoding='utf-8', newline='') as f:
            for row in csv.DictReader(f):
                if 'original' not in row or 'manual' not in row:
                    report.errors.append(f'{mapping_rel}: needs columns '
                                         'original,manual')
                    break
                mapping[row['original'].strip().lower()] = \
                    row['manual'].strip()
    else:
        report.missing.append(mapping_rel)
    keys = {str(k).lower() for k in table}
    used = sorted({c for splits in classes.values() for names in
                   splits.values() for c in names})
    lacking = [c for c in used
               if mapping.get(c.lower(), c).lower() not in keys]
    if lacking:
        report.errors.append(f'{rel}: no embedding for classes '
                             f'{_short(lacking)}')


def check_avgzsl_layout(dataset_root,
                        features=None,
                        method=None,
                        read_features=True,
                        max_files_per_split=None,
                        split_kinds=('main_split', 'cls_split')):
    """Check one dataset root of the AV-GZSL benchmark layout.

    Checks: ``class-split/all_class.txt``; all six ``.txt`` and ``.csv``
    split files in each of ``split_kinds`` (csv header with the columns
    ``filename``, ``label``, ``label_code`` in any order, as in the published
    files; class names known); for the feature folder: every class of
    each split's ``.txt`` has a file under ``features/<method>/{audio,video}
    /<split>/`` for the five feature splits, every file loads (restricted
    unpickler) as ``{features: [(T, D)], video_names, fps}``, widths are
    consistent per modality, audio and video list the same clips; the text
    embeddings ``features/<method>/text/word_embeddings_<ds>_normed.npy``
    exist, have one width and cover every class (through
    ``class-split/<ds>_w2v_class_names.csv``).

    Args:
        dataset_root (str): e.g. ``.../avgzsl_benchmark_non_averaged_
            datasets/UCF``.
        features (str, optional): ``supervised``/``cls`` or ``selavi``/
            ``main``; default: the first feature folder found.
        method (str, optional): explicit folder under ``features/``.
        read_features (bool): load every feature file (slow on VGGSound);
            False only checks that the files exist.
        max_files_per_split (int, optional): read at most this many class
            files per modality and split.
        split_kinds (tuple[str]): class-split folders to check.

    Returns:
        LayoutReport: ``report.ok`` and ``report.format()``; never raises
        for problems in the data, which are listed in the report.

    Raises:
        ValueError: unknown ``features``.
    """
    root = osp.abspath(dataset_root)
    report = LayoutReport(root=root)
    if not osp.isdir(root):
        report.missing.append(f'{root}/ (dataset root)')
        return report
    dskey = _dataset_key(root)
    method, kind = _pick_method(root, features, method, report)
    report.method, report.split_kind = method, kind
    kinds = tuple(split_kinds)
    if kind not in kinds:
        kinds += (kind, )
    classes = _check_class_split(root, kinds, report)
    if method is not None:
        _check_features(root, method, kind, classes, read_features,
                        max_files_per_split, report)
        _check_text(root, method, dskey, classes, report)
    return report
