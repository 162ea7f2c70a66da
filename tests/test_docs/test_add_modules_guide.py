"""Executes the python examples of docs/add_modules.md: each block
registers a module, builds it (and the demo model) from a config and checks
the shapes of a forward pass."""
import os.path as osp
import re

import pytest

import stftbox.models  # noqa: F401
from stftbox.registry import FUSIONS, MODELS, NEURONS, POOLINGS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GUIDE = osp.join(REPO, 'docs', 'add_modules.md')
REGISTRIES = (MODELS, NEURONS, POOLINGS, FUSIONS)


def guide_blocks():
    """``[(section title, code)]`` of the ```python blocks of the guide."""
    with open(GUIDE, encoding='utf-8') as f:
        text = f.read()
    blocks, section = [], 'top'
    for part in re.split(r'(^## [^\n]*$|^```python\n.*?^```$)', text,
                         flags=re.M | re.S):
        if part.startswith('## '):
            section = part[3:].strip()
        elif part.startswith('```python'):
            blocks.append((section, part[len('```python\n'):-3]))
    return blocks


BLOCKS = guide_blocks()


def test_guide_covers_every_kind():
    assert [s for s, _ in BLOCKS] == [
        'A spiking neuron', 'A pooling', 'A fusion', 'A backbone',
        'A GZSL head'
    ]


@pytest.mark.parametrize('code', [c for _, c in BLOCKS],
                         ids=[s for s, _ in BLOCKS])
def test_guide_block_runs(code, monkeypatch):
    monkeypatch.chdir(REPO)
    before = [set(r.module_dict) for r in REGISTRIES]
    try:
        exec(compile(code, GUIDE, 'exec'), {'__name__': 'guide_example'})
        added = [set(r.module_dict) - b for r, b in zip(REGISTRIES, before)]
        assert any(added), 'the block registered nothing'
    finally:
        # unregister what the block added, so that it can run again
        for registry, names in zip(REGISTRIES, before):
            for name in set(registry.module_dict) - names:
                registry._module_dict.pop(name)
