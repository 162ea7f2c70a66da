"""Every ``tools/**/*.py`` script has ``--help`` text for every option, and
the options that error messages and docs tell users to pass exist."""
import ast
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# scripts, not the helper modules they import (no ``__main__`` block)
SCRIPTS = sorted(osp.relpath(p, REPO) for p in glob.glob(
    osp.join(REPO, 'tools', '**', '*.py'), recursive=True) +
    glob.glob(osp.join(REPO, 'demo', '*.py'))
    if "__name__ == '__main__'" in open(p).read())

# Runs each script up to its parse_args() in one interpreter; the patched
# parse_known_args records every action (sub-commands included), renders
# the help text of every (sub)parser and stops the script.
PROBE = r'''
import argparse, json, runpy, sys
scripts = json.loads(sys.argv[1])
result = {}
class Stop(Exception):
    pass
def probe(self, args=None, namespace=None):
    actions = []
    def walk(parser, cmd):
        parser.format_help()  # raises on a broken help string
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, cmd + [name])
            elif not isinstance(a, argparse._HelpAction):
                actions.append(dict(cmd=cmd, dest=a.dest, help=a.help,
                                    options=a.option_strings))
    walk(self, [])
    result[current] = dict(description=self.description, actions=actions)
    raise Stop
argparse.ArgumentParser.parse_known_args = probe
for current in scripts:
    sys.argv = [current, '--help']
    try:
        runpy.run_path(current, run_name='__main__')
    except Stop:
        pass
    except SystemExit:
        pass
print('PROBE' + json.dumps(result))
'''


@pytest.fixture(scope='module')
def parsers():
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    res = subprocess.run([sys.executable, '-c', PROBE, json.dumps(SCRIPTS)],
                         cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    line = [ln for ln in res.stdout.splitlines() if ln.startswith('PROBE')]
    return json.loads(line[-1][len('PROBE'):])


def test_script_list_is_complete():
    for expected in ('tools/train.py', 'tools/test.py', 'tools/model_zoo.py',
                     'tools/run_protocol.py', 'tools/misc/print_config.py'):
        assert expected in SCRIPTS


@pytest.mark.parametrize('script', SCRIPTS)
def test_every_option_has_help(script, parsers):
    assert script in parsers, f'{script} builds no argparse parser'
    info = parsers[script]
    assert info['description'], f'{script}: parser has no description'
    missing = [' '.join(a['cmd'] + (a['options'] or [a['dest']]))
               for a in info['actions']
               if not (a['help'] or '').strip()]
    assert not missing, f'{script}: options without help: {missing}'


def _string_constants(path):
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


OPTION = re.compile(r'(?<![\w!-])--([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)')
#: options of other programs that stftbox messages may name (torchrun, pip,
#: ``mim download --config``); ``<!--`` opens an HTML comment, not an option
FOREIGN = {'nproc_per_node', 'nproc-per-node', 'master_port', 'nnodes',
           'index-url', 'help', 'config'}


def test_hints_name_existing_options(parsers):
    """Every ``--option`` in a string of stftbox/ or tools/ (error hints,
    help texts, docstrings) and in the docs is an option of some stftbox
    tool (or of pip / torchrun)."""
    known = {opt.lstrip('-') for info in parsers.values()
             for a in info['actions'] for opt in a['options']}
    files = glob.glob(osp.join(REPO, 'stftbox', '**', '*.py'),
                      recursive=True) + [osp.join(REPO, s) for s in SCRIPTS]
    unknown = set()
    for path in files:
        for text in _string_constants(path):
            for opt in OPTION.findall(text):
                if opt not in known and opt not in FOREIGN:
                    unknown.add((osp.relpath(path, REPO), f'--{opt}'))
    for path in glob.glob(osp.join(REPO, 'docs', '*.md')) + glob.glob(
            osp.join(REPO, 'projects', '*', 'README.md')) + [
            osp.join(REPO, 'README.md')]:
        with open(path, encoding='utf-8') as f:
            for opt in OPTION.findall(f.read()):
                if opt not in known and opt not in FOREIGN:
                    unknown.add((osp.relpath(path, REPO), f'--{opt}'))
    assert not unknown, sorted(unknown)
