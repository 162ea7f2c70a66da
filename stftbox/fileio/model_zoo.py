"""The model zoo: ``model_zoo.yml`` (machine-readable) and ``model-zoo.md``.

``model_zoo.yml`` at the repository root lists every trained model:

=================  ==========================================================
key                meaning
=================  ==========================================================
``name``           unique id, used by ``tools/model_zoo.py`` and
                   :func:`stftbox.fileio.resolve_checkpoint`
``dataset``        ``VGGSound-GZSL`` | ``UCF-GZSL`` | ``ActivityNet-GZSL``
``features``       ``cls`` (temporal C3D/VGGish, ``cls_split``), ``main``
                   (temporal SeLaVi, ``main_split``) or ``surrogate``
``config``         config file, relative to the repository root
``filename``       checkpoint file name on the download server / mirror
``S U HM ZSL``     our test results, percent (mean class accuracy; see
                   ``docs/data.md``); ``null`` until measured
``params``         trainable parameters, millions
``url sha256``     download URL and SHA-256 hex digest of the file
``paper_HM``       HM / ZSL (percent) reported by the STFT paper, when
``paper_ZSL``      known
``paper_HM_gain``  relative HM gain (percent) over the best prior method
                   reported by the STFT paper
``status``         ``released`` | ``not yet released`` | ``pending``
``size``           optional: file size in bytes (checked after download)
``reproduce``      optional: how the numbers were produced -- ``command``
                   (gives these numbers), ``regenerate`` (rewrites the entry
                   and checkpoint), ``seed``, ``threads`` (torch threads),
                   ``num_workers`` (per dataloader), ``machine``,
                   ``versions`` (python, torch, mmengine, spikingjelly,
                   numpy), ``weights_sha256`` (digest of the weights, see
                   :func:`stftbox.fileio.state_dict_sha256`) and
                   ``depends_on`` (what else the numbers depend on)
=================  ==========================================================

``model-zoo.md`` shows the same numbers, one table per dataset and feature
type; :func:`render_model_zoo_markdown` writes it and
:func:`parse_model_zoo_markdown` reads it back (the tests keep both files
consistent).
"""
import os
import os.path as osp
import re

from .hashing import normalize_sha256

__all__ = [
    'ModelZooError', 'load_model_zoo', 'get_entry', 'model_zoo_path',
    'render_model_zoo_markdown', 'parse_model_zoo_markdown', 'NUMBER_FIELDS',
    'STATUSES', 'DATASETS', 'FEATURES'
]

#: numeric fields, all percentages except ``params`` (millions)
NUMBER_FIELDS = ('S', 'U', 'HM', 'ZSL', 'paper_HM', 'paper_ZSL',
                 'paper_HM_gain', 'params')
STATUSES = ('released', 'not yet released', 'pending')
#: dataset names in display order
DATASETS = ('VGGSound-GZSL', 'UCF-GZSL', 'ActivityNet-GZSL')
#: feature key -> description used in headings of model-zoo.md
FEATURES = {
    'cls': 'temporal C3D/VGGish features (`cls_split`, '
           '`*-supervised-temporal.zip`)',
    'main': 'temporal SeLaVi features (`main_split`, '
            '`*-selavi-temporal.zip`)',
    'surrogate': 'synthetic surrogate features in the benchmark layout '
                 '(`stftbox/datasets/surrogate.py`)',
}
_REQUIRED = ('name', 'dataset', 'features', 'config', 'filename', 'url',
             'sha256', 'status') + NUMBER_FIELDS
_COLUMNS = ('Name', 'Config', 'S', 'U', 'HM', 'ZSL', 'Paper HM',
            'Paper ZSL', 'Paper HM gain', 'Params (M)', 'Status',
            'Download', 'SHA-256')
_COLUMN_FIELD = {
    'S': 'S', 'U': 'U', 'HM': 'HM', 'ZSL': 'ZSL', 'Paper HM': 'paper_HM',
    'Paper ZSL': 'paper_ZSL', 'Paper HM gain': 'paper_HM_gain',
    'Params (M)': 'params'
}
_DASH = '—'


class ModelZooError(LookupError):
    """Unknown model name, malformed ``model_zoo.yml`` or a model that has
    no checkpoint to download yet."""


def model_zoo_path():
    """Path of ``model_zoo.yml``.

    Looked up in order: env ``STFTBOX_MODEL_ZOO``; ``stftbox/.mim/
    model_zoo.yml`` (an installed package); the repository root.

    Returns:
        str: the first existing path (the repository-root path if none
        exists).
    """
    env = os.environ.get('STFTBOX_MODEL_ZOO')
    if env:
        return env
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for cand in (osp.join(pkg, '.mim', 'model_zoo.yml'),
                 osp.join(osp.dirname(pkg), 'model_zoo.yml')):
        if osp.isfile(cand):
            return cand
    return osp.join(osp.dirname(pkg), 'model_zoo.yml')


def _validate(zoo, path):
    if not isinstance(zoo, dict) or not isinstance(zoo.get('models'), list):
        raise ModelZooError(f'{path}: expected a mapping with a `models` list')
    names = set()
    for i, entry in enumerate(zoo['models']):
        where = f'{path}: models[{i}]'
        if not isinstance(entry, dict):
            raise ModelZooError(f'{where}: expected a mapping')
        missing = [k for k in _REQUIRED if k not in entry]
        if missing:
            raise ModelZooError(f'{where} ({entry.get("name")}): missing '
                                f'keys {missing}')
        name = entry['name']
        if not isinstance(name, str) or not re.fullmatch(r'[\w.\-]+', name):
            raise ModelZooError(f'{where}: bad name {name!r}')
        if name in names:
            raise ModelZooError(f'{path}: duplicate model name {name!r}')
        names.add(name)
        if entry['dataset'] not in DATASETS:
            raise ModelZooError(f'{where} ({name}): dataset must be one of '
                                f'{DATASETS}, got {entry["dataset"]!r}')
        if entry['features'] not in FEATURES:
            raise ModelZooError(f'{where} ({name}): features must be one of '
                                f'{tuple(FEATURES)}')
        if entry['status'] not in STATUSES:
            raise ModelZooError(f'{where} ({name}): status must be one of '
                                f'{STATUSES}, got {entry["status"]!r}')
        for key in NUMBER_FIELDS:
            value = entry[key]
            if value is not None and (isinstance(value, bool) or
                                      not isinstance(value, (int, float))):
                raise ModelZooError(f'{where} ({name}): {key} must be a '
                                    f'number or null, got {value!r}')
        try:
            entry['sha256'] = normalize_sha256(entry['sha256'])
        except ValueError as exc:
            raise ModelZooError(f'{where} ({name}): {exc}') from None
        fname = entry['filename']
        if not isinstance(fname, str) or '/' in fname or '\\' in fname \
                or fname in ('', '.', '..'):
            raise ModelZooError(f'{where} ({name}): filename must be a '
                                f'plain file name, got {fname!r}')
        if entry['status'] == 'released' and not (entry['url'] and
                                                   entry['sha256']):
            raise ModelZooError(f'{where} ({name}): a released model needs '
                                'url and sha256')
    return zoo


def load_model_zoo(path=None):
    """Read and validate ``model_zoo.yml``.

    Args:
        path (str, optional): defaults to :func:`model_zoo_path`.

    Returns:
        dict: ``{'schema_version': int, 'models': [entry, ...]}``; each
        entry has the keys listed in the module docstring (numbers in
        percent, ``params`` in millions, ``None`` when unknown; ``sha256``
        lower-cased).

    Raises:
        FileNotFoundError: no such file.
        ModelZooError: malformed file (message names the entry and key).
    """
    import yaml
    path = path or model_zoo_path()
    with open(path, encoding='utf-8') as f:
        zoo = yaml.safe_load(f)
    return _validate(zoo, path)


def get_entry(name, zoo=None):
    """One model-zoo entry by name.

    Args:
        name (str): e.g. ``'stft_ucf_cls'``.
        zoo (dict, optional): a loaded zoo (default: :func:`load_model_zoo`).

    Returns:
        dict: the entry.

    Raises:
        ModelZooError: unknown name (message lists the known names).
    """
    zoo = zoo if zoo is not None else load_model_zoo()
    for entry in zoo['models']:
        if entry['name'] == name:
            return entry
    known = ', '.join(e['name'] for e in zoo['models'])
    raise ModelZooError(f'unknown model {name!r}; known models: {known}')


# ---------------------------------------------------------------------------
# markdown


def _fmt_number(value):
    if value is None:
        return _DASH
    return f'{float(value):.2f}'


def _row(entry):
    cells = {
        'Name': f'`{entry["name"]}`',
        'Config': f'[{osp.basename(entry["config"])}]({entry["config"]})'
        if entry['config'] else _DASH,
        'Status': entry['status'],
        'Download': f'[{entry["filename"]}]({entry["url"]})'
        if entry['url'] else _DASH,
        'SHA-256': f'`{entry["sha256"]}`' if entry['sha256'] else _DASH,
    }
    for col, key in _COLUMN_FIELD.items():
        cells[col] = _fmt_number(entry[key])
    return '| ' + ' | '.join(cells[c] for c in _COLUMNS) + ' |'


def render_model_zoo_markdown(zoo):
    """Render ``model-zoo.md`` from a loaded zoo.

    Args:
        zoo (dict): :func:`load_model_zoo` output.

    Returns:
        str: the markdown text (one ``##`` section per dataset, one ``###``
        table per feature type; numbers with two decimals, ``—`` when
        unknown).
    """
    lines = [
        '# Model zoo',
        '',
        '<!-- Generated from model_zoo.yml by '
        '`python tools/model_zoo.py render --output model-zoo.md`; '
        'tests/test_utils/test_model_zoo.py checks that both agree. -->',
        '',
        'S, U, HM and ZSL are test-set percentages (mean class accuracy, '
        'calibrated stacking; protocol in `docs/data.md`). *Paper HM gain* '
        'is the relative HM improvement (%) over the best prior method that '
        'the STFT paper (Li et al., IEEE TIP 2024) reports; the paper\'s '
        'absolute numbers are left empty until confirmed. Params in '
        'millions. Download with `python tools/model_zoo.py download NAME` '
        '(set `STFTBOX_MIRROR` or `--mirror` to use your own host) and '
        'check a file with `python tools/model_zoo.py verify NAME`.',
        '',
    ]
    for dataset in DATASETS:
        entries = [e for e in zoo['models'] if e['dataset'] == dataset]
        if not entries:
            continue
        lines += [f'## {dataset}', '']
        for feat, desc in FEATURES.items():
            group = [e for e in entries if e['features'] == feat]
            if not group:
                continue
            lines += [f'### `{feat}`: {desc}', '']
            lines.append('| ' + ' | '.join(_COLUMNS) + ' |')
            lines.append('|' + '|'.join('---' for _ in _COLUMNS) + '|')
            lines += [_row(e) for e in group]
            lines.append('')
    lines += _reproduce_lines(zoo)
    lines += [
        '## Published reference numbers (not stftbox models)',
        '',
        'HM / ZSL (%) on VGGSound-GZSL / UCF-GZSL / ActivityNet-GZSL as '
        'published (TCaF, ECCV 2022; AVCA, CVPR 2022).',
        '',
        '| Method | Features | HM | ZSL |',
        '|---|---|---|---|',
        '| TCaF | temporal C3D/VGGish | 8.77 / 50.78 / 12.20 | '
        '7.41 / 44.64 / 7.96 |',
        '| AVCA | averaged C3D/VGGish | 8.31 / 41.34 / 9.92 | '
        '6.91 / 37.72 / 7.58 |',
        '| AVCA | SeLaVi | 6.31 / 27.15 / 12.13 | 6.00 / 20.01 / 9.13 |',
        '',
    ]
    return '\n'.join(lines)


def _reproduce_lines(zoo):
    """The "Reproducing" section: one paragraph per entry with a
    ``reproduce`` record."""
    entries = [e for e in zoo['models'] if e.get('reproduce')]
    if not entries:
        return []
    lines = ['## Reproducing the numbers', '']
    for e in entries:
        r = e['reproduce']
        versions = ', '.join(f'{k} {v}' for k, v in
                             (r.get('versions') or {}).items())
        workers = ', '.join(f'{k} {v}' for k, v in
                            (r.get('num_workers') or {}).items())
        lines += [
            f'`{e["name"]}`: `{r["command"]}` (seed {r.get("seed")}, '
            f'{r.get("threads")} torch threads, num_workers {workers}; '
            f'{r.get("machine")}; {versions}) gives these numbers exactly; '
            f'`{r.get("regenerate", r["command"])}` rewrites the checkpoint '
            f'and this entry. The numbers depend on {r.get("depends_on")}.',
            '']
    return lines


def _split_row(line):
    line = line.strip()
    if not (line.startswith('|') and line.endswith('|')):
        return None
    return [c.strip() for c in line[1:-1].split('|')]


def _parse_number(text, where):
    if text in (_DASH, '-', ''):
        return None
    try:
        return float(text)
    except ValueError:
        raise ModelZooError(f'{where}: not a number: {text!r}') from None


def parse_model_zoo_markdown(text):
    """Parse the model tables of ``model-zoo.md``.

    Only tables whose first header cell is ``Name`` are read; the dataset
    is the enclosing ``##`` heading and the feature key the back-quoted
    word of the enclosing ``###`` heading.

    Args:
        text (str): the markdown.

    Returns:
        dict: ``{name: {'dataset', 'features', 'config', 'status', 'url',
        'filename', 'sha256', <NUMBER_FIELDS>...}}`` with numbers as float
        or ``None``.

    Raises:
        ModelZooError: malformed table row or duplicate name.
    """
    rows = {}
    dataset = features = None
    header = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith('## '):
            dataset, features, header = line[3:].strip(), None, None
            continue
        if line.startswith('### '):
            m = re.search(r'`([^`]+)`', line)
            features, header = (m.group(1) if m else None), None
            continue
        cells = _split_row(line)
        if cells is None:
            header = None
            continue
        if header is None:
            header = cells if cells and cells[0] == 'Name' else []
            continue
        if not header or set(''.join(cells)) <= set('-: '):
            continue
        where = f'model-zoo.md line {lineno}'
        if len(cells) != len(header):
            raise ModelZooError(f'{where}: {len(cells)} cells, header has '
                                f'{len(header)}')
        cell = dict(zip(header, cells))
        name = cell['Name'].strip('`')
        if name in rows:
            raise ModelZooError(f'{where}: duplicate model {name!r}')
        entry = {'dataset': dataset, 'features': features,
                 'status': cell.get('Status')}
        m = re.fullmatch(r'\[([^\]]*)\]\(([^)]*)\)', cell.get('Config', ''))
        entry['config'] = m.group(2) if m else None
        m = re.fullmatch(r'\[([^\]]*)\]\(([^)]*)\)', cell.get('Download', ''))
        entry['filename'], entry['url'] = (m.group(1), m.group(2)) if m \
            else (None, None)
        sha = cell.get('SHA-256', _DASH).strip('`')
        entry['sha256'] = None if sha in (_DASH, '-', '') else sha
        for col, key in _COLUMN_FIELD.items():
            entry[key] = _parse_number(cell.get(col, _DASH), where)
        rows[name] = entry
    return rows
