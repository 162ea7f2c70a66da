"""Class lists, split files and phases of the AV-GZSL benchmark.

Source: ``docs/data.md`` sections "On-disk layout" and "Splits used in
training and evaluation" (AVCA-GZSL / TCaF-GZSL, Mercea et al., MIT).

``<Dataset>/class-split/`` holds

* ``all_class.txt`` -- one class name a line; the *sorted* list (Python
  ``sorted``, i.e. code-point order) defines the class ids,
* ``<ds>_w2v_class_names.csv`` -- columns ``original,manual``: class (folder)
  name -> name used for the text embedding,
* ``{main_split,cls_split}/<split_name>.txt`` -- the classes of a split and
  ``<split_name>.csv`` (``filename,label,...``) -- its clips (optional here:
  the VGGSound train csv files are not always shipped).

Class names are matched to ``all_class.txt`` exactly, else
case-insensitively when that match is unique: the original benchmark code
does the same for UCF and ActivityNet (the UCF split files say
``HandStandPushups`` where ``all_class.txt`` says ``HandstandPushups``).
"""
import csv
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import DatasetError

__all__ = ['PHASES', 'SPLIT_NAMES', 'ClassIndex', 'PhaseClasses',
           'read_class_list', 'read_split_csv_labels', 'read_w2v_names',
           'load_phase_classes', 'w2v_csv_name']

#: the six split names of ``class-split/<split>/`` (docs/data.md)
SPLIT_NAMES = ('stage_1_train', 'stage_1_val_seen', 'stage_1_val_unseen',
               'stage_2_train', 'stage_2_test_seen', 'stage_2_test_unseen')

#: phase -> feature folders read (``sources``) and the split ``.txt`` files
#: whose classes count as seen / unseen (docs/data.md, "Splits used in
#: training and evaluation"). Stage-2 train uses the classes of
#: stage_1_train + stage_1_val_unseen (= ``stage_2_train.txt``).
PHASES = {
    'stage_1_train': dict(
        sources=('stage_1_train', ),
        seen=('stage_1_train', ),
        unseen=()),
    'stage_1_val': dict(
        sources=('stage_1_val_seen', 'stage_1_val_unseen'),
        seen=('stage_1_val_seen', ),
        unseen=('stage_1_val_unseen', )),
    'stage_2_train': dict(
        sources=('stage_1_train', 'stage_1_val_seen', 'stage_1_val_unseen'),
        seen=('stage_1_train', 'stage_1_val_unseen'),
        unseen=()),
    'stage_2_test': dict(
        sources=('stage_2_test_seen', 'stage_2_test_unseen'),
        seen=('stage_2_test_seen', ),
        unseen=('stage_2_test_unseen', )),
}


def w2v_csv_name(dataset_name: str) -> str:
    """``'UCF'`` -> ``'ucf_w2v_class_names.csv'`` (docs/data.md layout)."""
    return f'{dataset_name.lower()}_w2v_class_names.csv'


def _read_text(path: str, what: str) -> str:
    if not osp.isfile(path):
        raise DatasetError(f'{path}: {what} not found')
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f'{path}: cannot read {what} ({exc})') from exc


def read_class_list(path: str, what: str = 'class list') -> List[str]:
    """Read a one-class-a-line ``.txt`` file (blank lines ignored).

    Args:
        path: e.g. ``class-split/all_class.txt`` or
            ``class-split/cls_split/stage_1_train.txt``.
        what: description used in error messages.

    Returns:
        list[str]: names in file order, stripped.

    Raises:
        DatasetError: missing/unreadable file, empty list or duplicates.
    """
    names = [ln.strip() for ln in _read_text(path, what).splitlines()]
    names = [n for n in names if n]
    if not names:
        raise DatasetError(f'{path}: {what} is empty, expected one class '
                           'name a line')
    seen = set()
    for n in names:
        if n in seen:
            raise DatasetError(f"{path}: class '{n}' listed twice")
        seen.add(n)
    return names


def _read_csv_rows(path: str, required: Sequence[str], what: str):
    text = _read_text(path, what)
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetError(
            f'{path}: {what} lacks column(s) {missing}, expected a header '
            f'with {list(required)} (found {header})')
    return list(reader)


def read_split_csv_labels(path: str) -> List[str]:
    """Class names (``label`` column) of a split ``.csv`` file, one per row.

    Raises:
        DatasetError: missing file or no ``label`` column.
    """
    rows = _read_csv_rows(path, ('label', ), 'split csv')
    return [r['label'].strip() for r in rows]


def read_w2v_names(path: str) -> List[Tuple[str, str]]:
    """``(original, manual)`` pairs of ``<ds>_w2v_class_names.csv``.

    Raises:
        DatasetError: missing file or missing ``original``/``manual`` column.
    """
    rows = _read_csv_rows(path, ('original', 'manual'),
                          'class-name csv')
    return [(r['original'].strip(), r['manual'].strip()) for r in rows]


class ClassIndex:
    """Class name -> class id, ids = positions in ``sorted(all_class)``.

    Args:
        names: the lines of ``all_class.txt``.
        source: its path (for messages).
    """

    def __init__(self, names: Sequence[str], source: str = 'all_class.txt'):
        self.names: Tuple[str, ...] = tuple(sorted(names))
        self.source = source
        self._exact = {n: i for i, n in enumerate(self.names)}
        self._lower: Dict[str, List[int]] = {}
        for i, n in enumerate(self.names):
            self._lower.setdefault(n.lower(), []).append(i)

    def __len__(self):
        return len(self.names)

    def get(self, name: str) -> Optional[int]:
        """Class id of ``name`` (exact, else unique case-insensitive match),
        or ``None``."""
        if name in self._exact:
            return self._exact[name]
        cands = self._lower.get(name.lower(), [])
        return cands[0] if len(cands) == 1 else None

    def resolve(self, name: str, where: str) -> int:
        """Like :meth:`get` but raises.

        Raises:
            DatasetError: ``"<where>: class '<name>' is not in <all_class>"``.
        """
        idx = self.get(name)
        if idx is None:
            raise DatasetError(
                f"{where}: class '{name}' is not in {self.source} "
                f'({len(self.names)} classes)')
        return idx


@dataclass
class PhaseClasses:
    """Classes of one ``(split, phase)``.

    Attributes:
        index: the :class:`ClassIndex` of ``all_class.txt``.
        seen_ids / unseen_ids: sorted class ids (docs/data.md table).
        used_ids: sorted ids of every class in any ``.txt`` list of the
            split (their text embeddings must exist).
        sources: feature folder names read for this phase.
        manual_names: class id -> text-embedding key from the w2v csv.
        files: class-split files read (for the cache fingerprint).
        class_split_dir: the ``class-split`` folder.
    """
    index: ClassIndex
    seen_ids: List[int]
    unseen_ids: List[int]
    used_ids: List[int]
    sources: Tuple[str, ...]
    manual_names: Dict[int, str]
    w2v_csv: str
    class_split_dir: str
    files: List[str] = field(default_factory=list)


def load_phase_classes(class_split_dir: str, split: str, phase: str,
                       dataset_name: str) -> PhaseClasses:
    """Read and validate the class-split files of ``split``/``phase``.

    Args:
        class_split_dir: ``<data_root>/class-split``.
        split: ``'cls_split'`` or ``'main_split'`` (any sub-folder name).
        phase: a key of :data:`PHASES`.
        dataset_name: ``'UCF'``, ``'VGGSound'`` or ``'ActivityNet'`` (selects
            the ``<ds>_w2v_class_names.csv``).

    Returns:
        PhaseClasses

    Raises:
        DatasetError: unknown phase; missing ``all_class.txt``, split folder,
            split ``.txt`` file or w2v csv; a class of a ``.txt``/``.csv``/w2v
            csv absent from ``all_class.txt``; seen and unseen lists
            overlapping.
    """
    if phase not in PHASES:
        raise DatasetError(f"phase '{phase}' unknown, expected one of "
                           f'{sorted(PHASES)}')
    all_path = osp.join(class_split_dir, 'all_class.txt')
    index = ClassIndex(read_class_list(all_path, 'all-class list'), all_path)
    files = [all_path]
    split_dir = osp.join(class_split_dir, split)
    if not osp.isdir(split_dir):
        raise DatasetError(
            f"{split_dir}: split folder not found, expected "
            f"class-split/<split>/ with {', '.join(SPLIT_NAMES)}.txt "
            "(split is 'cls_split' or 'main_split')")

    lists: Dict[str, List[int]] = {}
    for name in SPLIT_NAMES:
        path = osp.join(split_dir, f'{name}.txt')
        lists[name] = sorted({index.resolve(n, path)
                              for n in read_class_list(path, 'split file')})
        files.append(path)

    spec = PHASES[phase]
    # clip lists of the phase's sources: only validated (optional files)
    for name in spec['sources']:
        path = osp.join(split_dir, f'{name}.csv')
        if osp.isfile(path):
            for label in sorted(set(read_split_csv_labels(path))):
                index.resolve(label, path)
            files.append(path)

    seen = sorted({i for n in spec['seen'] for i in lists[n]})
    unseen = sorted({i for n in spec['unseen'] for i in lists[n]})
    overlap = sorted(set(seen) & set(unseen))
    if overlap:
        raise DatasetError(
            f'{split_dir}: classes {[index.names[i] for i in overlap]} are '
            f'both seen and unseen in phase {phase}')
    used = sorted({i for ids in lists.values() for i in ids})

    w2v_path = osp.join(class_split_dir, w2v_csv_name(dataset_name))
    manual: Dict[int, str] = {}
    for original, man in read_w2v_names(w2v_path):
        manual[index.resolve(original, w2v_path)] = man
    files.append(w2v_path)
    return PhaseClasses(index=index, seen_ids=seen, unseen_ids=unseen,
                        used_ids=used, sources=tuple(spec['sources']),
                        manual_names=manual, w2v_csv=w2v_path,
                        class_split_dir=class_split_dir, files=files)
