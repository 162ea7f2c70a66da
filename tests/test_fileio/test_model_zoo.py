"""The metafiles (model-index.yml -> configs/metafile.yml) <-> model-zoo.md
and the docs' quoted numbers, the loader (metafiles and flat files), the
writer and the CLI."""
import hashlib
import importlib.util
import os.path as osp

import pytest
import torch
import yaml

from stftbox.fileio import (ModelZooError, get_entry, load_model_zoo,
                            parse_model_zoo_markdown, safe_torch_load)
from stftbox.fileio.model_zoo import (DOC_FILES, NUMBER_FIELDS, doc_values,
                                     entry_to_metafile_model,
                                     render_doc_numbers, save_zoo_entry)

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
    return load_model_zoo(osp.join(REPO, 'model-index.yml'))


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


def test_model_index_is_the_default_and_mim_copy_is_equal(repo_zoo,
                                                         monkeypatch):
    root = open(osp.join(REPO, 'model-index.yml')).read()
    mim = open(osp.join(REPO, 'stftbox', '.mim', 'model-index.yml')).read()
    assert root == mim
    assert yaml.safe_load(root)['Import'] == ['configs/metafile.yml']
    default = load_model_zoo()
    assert [e['name'] for e in default['models']] == \
        [e['name'] for e in repo_zoo['models']]
    assert default['root'] == repo_zoo['root'] == REPO
    demo = get_entry('stft_demo_ucf_surrogate', repo_zoo)
    assert osp.realpath(demo['metafile']) == osp.join(REPO, 'configs',
                                                      'metafile.yml')


def test_metafile_round_trip(tmp_path):
    entry = _entry(name='x', config='configs/x.py', S=1.5, U=2.25, HM=1.8,
                   ZSL=3.0, params=0.5, paper_HM_gain=3.9,
                   url='https://h/x.pth', sha256='ab' * 32,
                   status='released', size=10, beta=1.2,
                   seeds=dict(seeds=[1, 2], HM=[1.0, 0.5]))
    model = entry_to_metafile_model(entry)
    assert model['Metadata'] == {'Training Data': 'UCF-GZSL',
                                 'Features': 'cls', 'Parameters': 500000}
    assert model['Results'][0]['Metrics'] == {'S': 1.5, 'U': 2.25,
                                              'HM': 1.8, 'ZSL': 3.0}
    assert model['Weights'] == 'https://h/x.pth'
    meta = tmp_path / 'configs' / 'metafile.yml'
    meta.parent.mkdir()
    meta.write_text('# keep me\n' + yaml.safe_dump(
        dict(Collections=[dict(Name='STFT')], Models=[model])))
    (tmp_path / 'model-index.yml').write_text(
        'Import:\n- configs/metafile.yml\n')
    zoo = load_model_zoo(str(tmp_path / 'model-index.yml'))
    got = get_entry('x', zoo)
    assert zoo['root'] == str(tmp_path)
    for key, value in entry.items():
        assert got[key] == value, key
    assert got['Parameters'] == 500000
    got['HM'] = 9.99
    save_zoo_entry(got)
    text = meta.read_text()
    assert text.startswith('# keep me\n')
    again = get_entry('x', load_model_zoo(str(meta)))
    assert again['HM'] == 9.99 and again['seeds'] == entry['seeds']
    assert yaml.safe_load(text)['Collections'] == [dict(Name='STFT')]


def test_doc_values_and_markers():
    entry = dict(S=29.875, U=34.5726, HM=32.0549, ZSL=36.7763, beta=1.2,
                 validation=dict(S=51.48, U=23.65, HM=32.41, ZSL=26.27,
                                 epoch=6, beta=1.2),
                 seeds=dict(seeds=[1, 2, 3], HM=[27.581, 4.1]))
    values = doc_values(entry)
    assert values['test'] == 'S 29.88, U 34.57, HM 32.05, ZSL 36.78'
    assert values['test_slash'] == '29.88 / 34.57 / 32.05 / 36.78'
    assert values['val'] == ('S 51.48, U 23.65, HM 32.41, ZSL 26.27 at '
                             'epoch 6, beta 1.20')
    assert values['val_row'] == '51.48 | 23.65 | 32.41 | 26.27 | 6 | 1.20'
    assert values['val_HM0'] == '32'
    assert values['seeds_HM'] == '27.58 ± 4.10 over 3 seeds'
    zoo = dict(models=[dict(entry, name='m')])
    text = 'HM <!--zoo:m:test_slash-->old<!--/zoo--> and more'
    assert render_doc_numbers(text, zoo) == \
        'HM <!--zoo:m:test_slash-->29.88 / 34.57 / 32.05 / 36.78<!--/zoo-->' \
        ' and more'
    with pytest.raises(ModelZooError, match="x.md: m has no value 'nope'"):
        render_doc_numbers('<!--zoo:m:nope-->1<!--/zoo-->', zoo, 'x.md')


def test_docs_quote_the_zoo(repo_zoo):
    """Every marked number in the docs is the zoo's (regenerated by
    `tools/model_zoo.py regenerate`), and the docs do mark them."""
    marked = 0
    for rel in DOC_FILES:
        path = osp.join(REPO, rel)
        if not osp.isfile(path):
            continue
        text = open(path, encoding='utf-8').read()
        assert render_doc_numbers(text, repo_zoo, rel) == text, rel
        marked += text.count('<!--zoo:')
    assert marked >= 3


def test_zoo_writes_are_atomic_and_clean_up(tmp_path, monkeypatch):
    """save_zoo_entry and the tool's writers go through atomic_io: the
    data is fsynced before the rename, and a failed write leaves the old
    file and no temporary file (no fixed ``<path>.tmp``)."""
    import stftbox.fileio.atomic_io as atomic_io
    entry = _entry(name='x', config='configs/x.py', S=1.5, U=2.25, HM=1.8,
                   ZSL=3.0, params=0.5, url='https://h/x.pth',
                   sha256='ab' * 32, status='released', size=10, beta=1.2)
    meta = tmp_path / 'metafile.yml'
    meta.write_text(yaml.safe_dump(dict(
        Collections=[dict(Name='STFT')],
        Models=[entry_to_metafile_model(entry)])))
    before = meta.read_text()
    got = get_entry('x', load_model_zoo(str(meta)))
    got['HM'] = 9.99
    tool = _load_tool()
    text_file = tmp_path / 'doc.md'
    text_file.write_text('old')
    pth = tmp_path / 'w.pth'
    synced = []

    def failing_fsync(fd):
        synced.append(fd)
        raise OSError('disk full')

    monkeypatch.setattr(atomic_io.os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='disk full'):
        save_zoo_entry(got)
    with pytest.raises(OSError, match='disk full'):
        tool._write_text(str(text_file), 'new')
    with pytest.raises(OSError, match='disk full'):
        atomic_io.atomic_torch_save({'w': torch.ones(2)}, str(pth))
    assert len(synced) == 3
    assert meta.read_text() == before and text_file.read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'doc.md', 'metafile.yml']
    monkeypatch.undo()
    save_zoo_entry(got)
    tool._write_text(str(text_file), 'new')
    atomic_io.atomic_torch_save({'w': torch.ones(2)}, str(pth))
    assert get_entry('x', load_model_zoo(str(meta)))['HM'] == 9.99
    assert text_file.read_text() == 'new'
    assert torch.equal(safe_torch_load(str(pth))['w'], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'doc.md', 'metafile.yml', 'w.pth']
