"""Package layering: no module of a lower layer imports a higher one.

Every ``import`` / ``from ... import`` in ``stftbox/`` (also the ones inside
functions) is parsed with :mod:`ast` and mapped to its stftbox sub-package;
a module may import its own layer or lower ones only."""
import ast
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PKG = osp.join(REPO, 'stftbox')

#: rank of each sub-package of stftbox (lowest first): generic helpers; the
#: artifact supply chain; the registries; data, evaluation and models; the
#: runner and its tool plumbing; the public inference API. ``ops`` (the
#: hand-written kernels) shares the models' layer: ``ops/speed.py`` times
#: the neurons of ``models``; ``extractors`` (raw media -> features) reads
#: the split files of ``datasets``
LAYERS = {
    'utils': 0,
    'fileio': 1,
    'registry': 2,
    'datasets': 3, 'evaluation': 3, 'models': 3, 'ops': 3,
    'extractors': 3,
    'engine': 4, 'deployment': 4,
    'apis': 5,
}


def _module_name(path):
    rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def stftbox_imports(path):
    """Absolute names of the stftbox modules that ``path`` imports."""
    module = _module_name(path)
    package = module if path.endswith('__init__.py') else \
        module.rpartition('.')[0]
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                prefix = '.'.join(base)
                target = f'{prefix}.{node.module}' if node.module else prefix
            else:
                target = node.module or ''
            names = [target]
        else:
            continue
        for name in names:
            if name == 'stftbox' or name.startswith('stftbox.'):
                yield node.lineno, name


def layer(module):
    parts = module.split('.')
    if len(parts) < 2:
        return -1  # the top package (version only)
    return LAYERS[parts[1]]


def python_files():
    for root, _, files in os.walk(PKG):
        for f in sorted(files):
            if f.endswith('.py'):
                yield osp.join(root, f)


def test_every_sub_package_has_a_layer():
    found = {f for f in os.listdir(PKG)
             if osp.isdir(osp.join(PKG, f)) and not f.startswith(('.', '_'))
             and osp.exists(osp.join(PKG, f, '__init__.py'))}
    found |= {f[:-3] for f in os.listdir(PKG)
              if f.endswith('.py') and f != '__init__.py'}
    assert found == set(LAYERS)


def test_relative_imports_are_resolved():
    path = osp.join(PKG, 'fileio', 'download.py')
    names = {n for _, n in stftbox_imports(path)}
    assert 'stftbox.fileio.hashing' in names
    assert 'stftbox.utils.progress' in names


def test_no_lower_layer_imports_a_higher_one():
    bad = []
    for path in python_files():
        src = _module_name(path)
        for lineno, target in stftbox_imports(path):
            if layer(target) > layer(src):
                bad.append(f'{osp.relpath(path, REPO)}:{lineno}: {src} '
                           f'(layer {layer(src)}) imports {target} '
                           f'(layer {layer(target)})')
    assert not bad, '\n'.join(bad)


@pytest.mark.parametrize('src,target,ok', [
    ('stftbox.utils.progress', 'stftbox.fileio', False),
    ('stftbox.datasets.x', 'stftbox.models.y', True),
    ('stftbox.engine.x', 'stftbox.apis', False),
    ('stftbox.apis.x', 'stftbox.engine.setup_env', True)])
def test_layer_order(src, target, ok):
    assert (layer(target) <= layer(src)) == ok
