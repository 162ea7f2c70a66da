"""The model zoo: per-config metafiles (machine-readable) and
``model-zoo.md``.

As in mmpretrain, ``model-index.yml`` (repository root, and
``stftbox/.mim/model-index.yml`` for installed packages and ``mim``) lists
the metafiles (``Import: [configs/metafile.yml, ...]``); each metafile has
``Collections`` and ``Models`` in the OpenMMLab model-index format
(``Name``, ``In Collection``, ``Config``, ``Metadata`` with ``Training
Data``, ``Features`` and ``Parameters``, ``Results`` with the test
``Metrics`` S/U/HM/ZSL, ``Weights``), plus a ``Zoo`` mapping with what
stftbox needs beyond that (file name, SHA-256, size, status, the
safetensors file, calibration beta, spread over seeds, how to reproduce).
:func:`load_model_zoo` turns them into flat entries with these keys (a
flat ``models:`` file, the format of stftbox <= 0.1's ``model_zoo.yml``,
is still read):

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
``safetensors``    optional: the same weights without pickle --
                   ``filename``, ``url``, ``sha256``, ``size``
``beta``           optional: the calibration beta the numbers use (chosen
                   on validation by the protocol)
``validation``     optional: stage-1 validation scores of the protocol
                   (``epoch``, ``beta``, ``S U HM ZSL``)
``seeds``          optional: the same protocol over several seeds --
                   ``seeds`` (list) and, per metric ``S U HM ZSL``,
                   ``[mean, sample std]``
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
    'STATUSES', 'DATASETS', 'FEATURES', 'save_zoo_entry', 'zoo_root',
    'entry_to_metafile_model', 'doc_values', 'render_doc_numbers',
    'DOC_FILES'
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
#: the ``Task`` of the metafiles' ``Results``
TASK = 'Audio-Visual Generalised Zero-Shot Learning'
#: optional flat keys kept in the metafiles' ``Zoo`` mapping
_ZOO_EXTRA = ('size', 'safetensors', 'beta', 'validation', 'seeds',
              'reproduce')
_COLUMNS = ('Name', 'Config', 'S', 'U', 'HM', 'ZSL', 'HM over seeds',
            'Beta', 'Paper HM',
            'Paper ZSL', 'Paper HM gain', 'Params (M)', 'Status',
            'Download', 'SHA-256')
_COLUMN_FIELD = {
    'S': 'S', 'U': 'U', 'HM': 'HM', 'ZSL': 'ZSL', 'Paper HM': 'paper_HM',
    'Paper ZSL': 'paper_ZSL', 'Paper HM gain': 'paper_HM_gain',
    'Params (M)': 'params'
}
_DASH = '—'


class ModelZooError(LookupError):
    """Unknown model name, malformed model index / metafile or a model
    that has no checkpoint to download yet."""


def model_zoo_path():
    """Path of the model index (``model-index.yml``).

    Looked up in order: env ``STFTBOX_MODEL_ZOO`` (a model index, one
    metafile or a flat zoo file); ``stftbox/.mim/model-index.yml`` (an
    installed package; what ``mim search`` reads); the repository root.

    Returns:
        str: the first existing path (the repository-root path if none
        exists).
    """
    env = os.environ.get('STFTBOX_MODEL_ZOO')
    if env:
        return env
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for cand in (osp.join(pkg, '.mim', 'model-index.yml'),
                 osp.join(osp.dirname(pkg), 'model-index.yml')):
        if osp.isfile(cand):
            return cand
    return osp.join(osp.dirname(pkg), 'model-index.yml')


def zoo_root(path):
    """The folder that relative ``Config`` / ``Weights`` paths of the zoo
    at ``path`` are relative to: the repository root (as mmpretrain's
    ``Config: configs/...``), i.e. the folder of ``model-index.yml``, or
    the folder above the package for ``stftbox/.mim/model-index.yml``.

    Args:
        path (str): a model index, metafile or flat zoo file.

    Returns:
        str: absolute folder.
    """
    folder = osp.dirname(osp.abspath(path))
    if osp.basename(folder) == '.mim':
        return osp.dirname(osp.dirname(folder))
    if osp.basename(path) == 'metafile.yml':
        # configs/<...>/metafile.yml -> the folder holding configs/
        while folder != osp.dirname(folder) and \
                osp.basename(folder) != 'configs':
            folder = osp.dirname(folder)
        return osp.dirname(folder)
    return folder


def _none_or_round(value, digits):
    return None if value is None else round(float(value), digits)


def _entry_from_model(model, where):
    """A flat entry from one metafile ``Models`` item."""
    if not isinstance(model, dict) or 'Name' not in model:
        raise ModelZooError(f'{where}: expected a mapping with a Name')
    meta = model.get('Metadata') or {}
    extra = model.get('Zoo') or {}
    results = model.get('Results') or []
    metrics = (results[0].get('Metrics') if results else None) or {}
    n_params = meta.get('Parameters')
    entry = dict(
        name=model['Name'], dataset=meta.get('Training Data'),
        features=meta.get('Features'), config=model.get('Config'),
        filename=extra.get('filename'),
        S=metrics.get('S'), U=metrics.get('U'), HM=metrics.get('HM'),
        ZSL=metrics.get('ZSL'),
        params=None if n_params is None else round(n_params / 1e6, 3),
        paper_HM=extra.get('paper_HM'), paper_ZSL=extra.get('paper_ZSL'),
        paper_HM_gain=extra.get('paper_HM_gain'),
        url=model.get('Weights'), sha256=extra.get('sha256'),
        status=extra.get('status'))
    entry.update({k: extra[k] for k in _ZOO_EXTRA if k in extra})
    if n_params is not None:
        entry['Parameters'] = int(n_params)  # the exact count
    return entry


def entry_to_metafile_model(entry, collection='STFT'):
    """The metafile ``Models`` item of a flat entry (inverse of what
    :func:`load_model_zoo` reads).

    Args:
        entry (dict): a flat entry (module docstring).
        collection (str): ``In Collection``.

    Returns:
        dict: ``Name``, ``In Collection``, ``Config``, ``Metadata``,
        ``Results``, ``Weights`` (when known) and ``Zoo``.
    """
    n_params = entry.get('Parameters')
    if n_params is None and entry.get('params') is not None:
        n_params = int(round(entry['params'] * 1e6))
    meta = {'Training Data': entry['dataset'], 'Features': entry['features']}
    if n_params is not None:
        meta['Parameters'] = int(n_params)
    model = {'Name': entry['name'], 'In Collection': collection,
             'Config': entry['config'], 'Metadata': meta,
             'Results': [{'Task': TASK, 'Dataset': entry['dataset'],
                          'Metrics': {k: entry[k] for k in
                                      ('S', 'U', 'HM', 'ZSL')}}]}
    if entry.get('url'):
        model['Weights'] = entry['url']
    extra = {k: entry[k] for k in ('filename', 'sha256', 'status',
                                   'paper_HM', 'paper_ZSL',
                                   'paper_HM_gain')}
    extra.update({k: entry[k] for k in _ZOO_EXTRA if k in entry})
    model['Zoo'] = extra
    return model


def _read_yaml(path):
    import yaml
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def _load_metafile(path, zoo_models):
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get('Models'), list):
        raise ModelZooError(f'{path}: expected a metafile with a `Models` '
                            'list')
    for i, model in enumerate(raw['Models']):
        entry = _entry_from_model(model, f'{path}: Models[{i}]')
        entry['metafile'] = osp.realpath(path)
        zoo_models.append(entry)


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
    """Read and validate the model zoo.

    Args:
        path (str, optional): a ``model-index.yml`` (``Import`` lists
            metafiles, relative to its folder), one ``metafile.yml`` or a
            flat file with a ``models`` list; defaults to
            :func:`model_zoo_path`.

    Returns:
        dict: ``{'schema_version': int, 'root': folder relative paths are
        relative to, 'models': [entry, ...]}``; each entry has the keys
        listed in the module docstring (numbers in percent, ``params`` in
        millions, ``None`` when unknown; ``sha256`` lower-cased) and, when
        read from a metafile, ``metafile`` (its absolute path).

    Raises:
        FileNotFoundError: no such file.
        ModelZooError: malformed file (message names the entry and key).
    """
    path = path or model_zoo_path()
    raw = _read_yaml(path)
    if isinstance(raw, dict) and ('Import' in raw or 'Models' in raw):
        models = []
        for rel in raw.get('Import') or []:
            _load_metafile(osp.join(osp.dirname(path), rel), models)
        if 'Models' in raw:
            _load_metafile(path, models)
        zoo = {'schema_version': 2, 'models': models}
    else:
        zoo = raw
    zoo = _validate(zoo, path)
    zoo['root'] = zoo_root(path)
    return zoo


def save_zoo_entry(entry):
    """Write one entry back into its metafile (atomically; the other
    models, the collections and the leading comment lines are kept).

    Args:
        entry (dict): a flat entry that :func:`load_model_zoo` read from a
            metafile (it has ``metafile``).

    Raises:
        ModelZooError: the entry has no metafile or is not in it.
    """
    import yaml
    path = entry.get('metafile')
    if not path:
        raise ModelZooError(f"{entry.get('name')}: not read from a metafile")
    with open(path, encoding='utf-8') as f:
        text = f.read()
    raw = yaml.safe_load(text)
    names = [m.get('Name') for m in raw['Models']]
    if entry['name'] not in names:
        raise ModelZooError(f"{path}: no model {entry['name']!r}")
    i = names.index(entry['name'])
    old = raw['Models'][i]
    raw['Models'][i] = entry_to_metafile_model(
        entry, old.get('In Collection', 'STFT'))
    header = ''.join(ln for ln in text.splitlines(True)
                     if ln.startswith('#'))
    from .atomic_io import atomic_write_text
    atomic_write_text(path, header + yaml.safe_dump(
        raw, sort_keys=False, allow_unicode=True, width=79))


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


def _seeds_cell(seeds, metric):
    """``mean ± std (n seeds)`` of a ``seeds`` record, or a dash."""
    if not seeds or not seeds.get(metric):
        return _DASH
    mean, std = seeds[metric]
    return f'{mean:.2f} ± {std:.2f} ({len(seeds["seeds"])})'


def _row(entry):
    cells = {
        'Name': f'`{entry["name"]}`',
        'Config': f'[{osp.basename(entry["config"])}]({entry["config"]})'
        if entry['config'] else _DASH,
        'Status': entry['status'],
        'Download': f'[{entry["filename"]}]({entry["url"]})'
        if entry['url'] else _DASH,
        'SHA-256': f'`{entry["sha256"]}`' if entry['sha256'] else _DASH,
        'HM over seeds': _seeds_cell(entry.get('seeds'), 'HM'),
        'Beta': _fmt_number(entry.get('beta')),
    }
    if entry.get('safetensors') and entry['safetensors'].get('url'):
        st = entry['safetensors']
        cells['Download'] += f', [{st["filename"]}]({st["url"]})'

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
        '<!-- Generated from the metafiles (model-index.yml -> '
        'configs/metafile.yml) by '
        '`python tools/model_zoo.py render --output model-zoo.md`; '
        'tests/test_fileio/test_model_zoo.py checks that both agree. -->',
        '',
        'S, U, HM and ZSL are test-set percentages (mean class accuracy, '
        'calibrated stacking; protocol in `docs/data.md`). *Paper HM gain* '
        'is the relative HM improvement (%) over the best prior method that '
        'the STFT paper (Li et al., IEEE TIP 2024) reports; the paper\'s '
        'absolute numbers are left empty until confirmed. *Beta* is the '
        'calibration the numbers use (chosen on validation). *HM over '
        'seeds* is mean ± sample standard deviation of the test HM of the '
        'same protocol over (n) seeds, next to the single run of the '
        'shipped checkpoint. Params in millions. Download with '
        '`python tools/model_zoo.py download NAME` '
        '(set `STFTBOX_MIRROR` or `--mirror` to use your own host) and '
        'check a file with `python tools/model_zoo.py verify NAME`; from '
        'Python: `stftbox.apis.list_models()`, `get_model(NAME, '
        'pretrained=True)`.',
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
    lines = [
        '## Reproducing the numbers', '',
        'The documented protocol reproduces each entry below exactly, and '
        'CI checks it on every commit (`tests/test_tools/'
        'test_zoo_reproduce.py` reruns the command and compares the '
        'weights digest, the test and validation scores and beta; it also '
        'evaluates the shipped `.pth` and `.safetensors`, and '
        '`tests/test_fileio/test_model_zoo.py` checks every number the '
        'docs quote). A change of the model\'s numerics (even float '
        'rounding) therefore needs, in the same commit:', '',
        '```shell',
        'python tools/model_zoo.py regenerate NAME   # e.g. '
        'stft_demo_ucf_surrogate',
        '```', '',
        'It reruns the protocol in a fresh `work_dirs/zoo_NAME_*` (and once '
        'per recorded seed for the spread; `--seeds 42 1 2 3 4` sets them, '
        '`--seeds` alone drops the spread) with the recorded torch threads, '
        'then rewrites `checkpoints/NAME.pth` (weights and meta) and '
        '`checkpoints/NAME.safetensors` (the same weights, no pickle), the '
        'entry in `configs/metafile.yml`, this page, every '
        '`<!--zoo:NAME:KEY-->` number in README/docs and the demo output in '
        '`docs/inference.md`. Commit what it changed. The ablation tables '
        '(`docs/ablations.md` other rows, `docs/ablations_seeds.md`) compare '
        'other configs; rerun them with `tools/analysis_tools/'
        'run_ablations.py` when their code changed.', '']
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
            '(`.pth` and `.safetensors`), this entry, its metafile and every '
            'number the docs quote from it. The numbers depend on '
            f'{r.get("depends_on")}.', '']
        seeds = e.get('seeds')
        if seeds:
            spread = ', '.join(f'{k} {_seeds_cell(seeds, k)}'
                               for k in ('S', 'U', 'HM', 'ZSL'))
            lines += [f'Over seeds {", ".join(map(str, seeds["seeds"]))} '
                      f'(same command, `randomness.seed` changed): {spread}.',
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
        m = re.match(r'\[([^\]]*)\]\(([^)]*)\)', cell.get('Download', ''))
        entry['filename'], entry['url'] = (m.group(1), m.group(2)) if m \
            else (None, None)
        sha = cell.get('SHA-256', _DASH).strip('`')
        entry['sha256'] = None if sha in (_DASH, '-', '') else sha
        for col, key in _COLUMN_FIELD.items():
            entry[key] = _parse_number(cell.get(col, _DASH), where)
        entry['beta'] = _parse_number(cell.get('Beta', _DASH), where)
        rows[name] = entry
    return rows


# ---------------------------------------------------------------------------
# numbers the docs quote from a zoo entry

#: ``<!--zoo:NAME:KEY-->text<!--/zoo-->`` in a markdown file: ``text`` is
#: :func:`doc_values` ``(entry)[KEY]`` (the comments do not render)
DOC_NUMBER = re.compile(r'<!--zoo:([\w.\-]+):(\w+)-->(.*?)<!--/zoo-->',
                        re.S)
#: markdown files (relative to the repository root) that quote zoo numbers
DOC_FILES = ('README.md', 'docs/get_started.md', 'docs/ablations.md',
             'docs/inference.md', 'docs/data.md', 'docs/faq.md')


def doc_values(entry):
    """The texts the docs may quote from a zoo entry.

    Args:
        entry (dict): a zoo entry (with ``validation`` / ``beta`` /
            ``seeds`` when the docs quote those).

    Returns:
        dict: ``test`` (``S 29.88, U 34.57, HM 32.05, ZSL 36.78``),
        ``test_slash`` (``29.88 / 34.57 / 32.05 / 36.78``), ``beta``
        (``1.20``) and, when recorded, ``val`` (stage-1 validation:
        ``S .., U .., HM .., ZSL .. at epoch 6, beta 1.20``), ``val_row``
        (``S | U | HM | ZSL | epoch | beta`` cells) and ``seeds_HM``
        (``27.58 ± 4.10 over 5 seeds``).
    """
    keys = ('S', 'U', 'HM', 'ZSL')
    out = {}
    if all(entry.get(k) is not None for k in keys):
        out['test'] = ', '.join(f'{k} {entry[k]:.2f}' for k in keys)
        out['test_slash'] = ' / '.join(f'{entry[k]:.2f}' for k in keys)
    if entry.get('beta') is not None:
        out['beta'] = f"{entry['beta']:.2f}"
    val = entry.get('validation')
    if val:
        out['val'] = (', '.join(f'{k} {val[k]:.2f}' for k in keys) +
                      f" at epoch {val['epoch']}, beta {val['beta']:.2f}")
        out['val_HM0'] = f"{val['HM']:.0f}"
        out['val_row'] = ' | '.join(
            [f'{val[k]:.2f}' for k in keys] +
            [str(val['epoch']), f"{val['beta']:.2f}"])
    seeds = entry.get('seeds')
    if seeds and seeds.get('HM'):
        mean, std = seeds['HM']
        out['seeds_HM'] = (f'{mean:.2f} ± {std:.2f} over '
                           f"{len(seeds['seeds'])} seeds")
    return out


def render_doc_numbers(text, zoo, where='markdown'):
    """Replace every zoo-number marker of ``text`` by the zoo's value.

    Args:
        text (str): markdown with ``<!--zoo:NAME:KEY-->..<!--/zoo-->``.
        zoo (dict): a loaded zoo.
        where (str): file name for error messages.

    Returns:
        str: the new text (unchanged when already up to date).

    Raises:
        ModelZooError: unknown model or key (names the file).
    """
    def sub(m):
        name, key = m.group(1), m.group(2)
        try:
            values = doc_values(get_entry(name, zoo))
        except ModelZooError as exc:
            raise ModelZooError(f'{where}: {exc}') from None
        if key not in values:
            raise ModelZooError(f'{where}: {name} has no value {key!r} '
                                f'(known: {sorted(values)})')
        return f'<!--zoo:{name}:{key}-->{values[key]}<!--/zoo-->'

    return DOC_NUMBER.sub(sub, text)
