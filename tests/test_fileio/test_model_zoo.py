"""model_zoo.yml <-> model-zoo.md consistency, the loader and the CLI."""
import hashlib
import importlib.util
import os.path as osp

import pytest
import torch
import yaml

from stftbox.fileio import (ModelZooError, get_entry, load_model_zoo,
                            parse_model_zoo_markdown, safe_torch_load)
from stftbox.fileio.model_zoo import NUMBER_FIELDS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'stftbox_tool_model_zoo', osp.join(REPO, 'tools', 'model_zoo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def repo_zoo(monkeypatch):
    monkeypatch.delenv('STFTBOX_MODEL_ZOO', raising=False)
    return load_model_zoo(osp.join(REPO, 'model_zoo.yml'))


def test_markdown_matches_yaml(repo_zoo):
    with open(osp.join(REPO, 'model-zoo.md'), encoding='utf-8') as f:
        rows = parse_model_zoo_markdown(f.read())
    names = [e['name'] for e in repo_zoo['models']]
    assert sorted(rows) == sorted(names)
    for entry in repo_zoo['models']:
        row = rows[entry['name']]
        for key in ('dataset', 'features', 'config', 'status', 'url',
                    'sha256'):
            assert row[key] == entry[key], (entry['name'], key)
        if entry['url']:
            assert row['filename'] == entry['filename']
        for key in NUMBER_FIELDS:
            want = None if entry[key] is None else round(entry[key], 2)
            assert row[key] == want, (entry['name'], key)


def test_markdown_is_rendered_from_yaml(capsys):
    tool = _load_tool()
    assert tool.main(['render', '--check']) == 0
    assert 'up to date' in capsys.readouterr().out


def test_zoo_content(repo_zoo):
    stft = {(e['dataset'], e['features']): e for e in repo_zoo['models']
            if e['name'].startswith('stft_') and e['features'] != 'surrogate'}
    assert set(stft) == {(d, f) for d in ('VGGSound-GZSL', 'UCF-GZSL',
                                          'ActivityNet-GZSL')
                         for f in ('cls', 'main')}
    assert all(e['status'] == 'not yet released' and e['url'] is None
               for e in stft.values())
    gains = [stft[(d, 'cls')]['paper_HM_gain']
             for d in ('VGGSound-GZSL', 'UCF-GZSL', 'ActivityNet-GZSL')]
    assert gains == [15.4, 3.9, 14.9]
    demo = get_entry('stft_demo_ucf_surrogate', repo_zoo)
    assert demo['status'] == 'released' and demo['dataset'] == 'UCF-GZSL'
    assert demo['config'] == 'configs/stft_demo.py'
    # shipped in the repository, verified by its SHA-256, weights-only
    path = osp.join(REPO, demo['url'])
    assert hashlib.sha256(open(path, 'rb').read()).hexdigest() == \
        demo['sha256']
    ckpt = safe_torch_load(path)
    assert 0.0 <= ckpt['meta']['calibration']['beta'] <= 3.0
    assert ckpt['meta']['protocol']['test']['HM'] == pytest.approx(
        demo['HM'], abs=0.01)
    with pytest.raises(ModelZooError, match='known models: stft_vggsound'):
        get_entry('stft_mnist', repo_zoo)


def _entry(**kw):
    base = dict(name='m', dataset='UCF-GZSL', features='cls', config=None,
                filename='m.pth', S=None, U=None, HM=None, ZSL=None,
                params=None, paper_HM=None, paper_ZSL=None,
                paper_HM_gain=None, url=None, sha256=None,
                status='pending')
    base.update(kw)
    return base


@pytest.mark.parametrize('entries, needle', [
    ([_entry(), _entry()], 'duplicate model name'),
    ([_entry(sha256='abc')], 'not a SHA-256'),
    ([_entry(status='released')], 'needs url and sha256'),
    ([_entry(HM='high')], 'HM must be a number'),
    ([_entry(filename='../m.pth')], 'plain file name'),
    ([_entry(dataset='MNIST')], 'dataset must be one of'),
])
def test_invalid_zoo_is_rejected(tmp_path, entries, needle):
    path = tmp_path / 'zoo.yml'
    path.write_text(yaml.safe_dump(dict(schema_version=1, models=entries)))
    with pytest.raises(ModelZooError, match=needle):
        load_model_zoo(str(path))


def test_cli_list_download_verify(tmp_path, http_server, capsys,
                                  isolated_cache):
    model = torch.nn.Linear(2, 2)
    src = tmp_path / 'src.pth'
    torch.save({'state_dict': model.state_dict()}, src)
    data = src.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    http_server.serve('/own-host/m.pth', data)
    zoo = tmp_path / 'zoo.yml'
    zoo.write_text(yaml.safe_dump(dict(schema_version=1, models=[
        _entry(url='https://not.reachable.invalid/m.pth', sha256=sha,
               status='released', HM=12.345)])))
    tool = _load_tool()
    assert tool.main(['--zoo', str(zoo), 'list']) == 0
    out = capsys.readouterr().out
    assert 'm  ' in out and '12.35' in out and 'released' in out
    dest = tmp_path / 'dl'
    assert tool.main(['--zoo', str(zoo), 'download', 'm', '--mirror',
                      http_server.base + '/own-host', '--dest', str(dest),
                      '--no-progress']) == 0
    assert (dest / 'm.pth').read_bytes() == data
    assert tool.main(['--zoo', str(zoo), 'verify', 'm', '--path',
                      str(dest / 'm.pth')]) == 0
    assert 'SHA-256 OK' in capsys.readouterr().out
    (dest / 'm.pth').write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) +
                                 data[101:])
    assert tool.main(['--zoo', str(zoo), 'verify', 'm', '--path',
                      str(dest / 'm.pth')]) == 1
    assert 'SHA-256 mismatch' in capsys.readouterr().err
    # without a mirror the (unreleased) repo entries give a clear error
    assert tool.main(['download', 'stft_ucf_cls', '--no-progress']) == 1
    assert 'not yet released' in capsys.readouterr().err
