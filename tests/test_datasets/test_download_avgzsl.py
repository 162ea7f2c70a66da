"""tools/dataset_converters/download_avgzsl.py and the layout checker,
against a local server serving tiny zips in the real benchmark layout."""
import importlib.util
import io
import os
import os.path as osp
import pickle
import zipfile

import numpy as np
import pytest
from utils_helpers import (TINY_METHOD, TINY_WIDTHS, make_zip,
                           tiny_layout_files, write_tree)

from stftbox.datasets.avgzsl_layout import (UnsafeArchiveError,
                                            check_avgzsl_layout,
                                            feature_archive_name,
                                            feature_archive_url,
                                            safe_extract_zip)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'stftbox_tool_download_avgzsl',
        osp.join(REPO, 'tools', 'dataset_converters', 'download_avgzsl.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_archive_names_and_urls(monkeypatch):
    monkeypatch.delenv('STFTBOX_DATA_MIRROR', raising=False)
    assert feature_archive_name('UCF', 'cls') == 'ucf-supervised-temporal.zip'
    assert feature_archive_name('vggsound', 'main') == \
        'vggsound-selavi-temporal.zip'
    assert feature_archive_url('activitynet', 'selavi') == \
        ('https://s3.mlcloud.uni-tuebingen.de/tcaf-gzsl/'
         'activitynet-selavi-temporal.zip')
    assert feature_archive_url('ucf', 'supervised', 'http://h:1/m/') == \
        'http://h:1/m/ucf-supervised-temporal.zip'
    with pytest.raises(ValueError, match='unknown dataset'):
        feature_archive_name('kinetics', 'cls')


def test_download_unpack_and_check(http_server, tmp_path, capsys,
                                   isolated_cache):
    files = tiny_layout_files()
    # the published zips unpack as <Dataset>/features/...
    http_server.serve('/tcaf-gzsl/ucf-supervised-temporal.zip',
                      make_zip(files, prefix='UCF/'), 'cut_once')
    root = tmp_path / 'avgzsl_benchmark_non_averaged_datasets'
    rc = _tool().main(['ucf', 'cls', '--root', str(root), '--mirror',
                       http_server.base + '/tcaf-gzsl', '--no-progress'])
    out = capsys.readouterr().out
    assert rc == 0, out
    # the cut connection was resumed with a Range request
    reqs = http_server.requests_for('/tcaf-gzsl/ucf-supervised-temporal.zip')
    assert len(reqs) == 2 and reqs[1]['headers']['Range'].startswith('bytes=')
    assert (isolated_cache / 'datasets' /
            'ucf-supervised-temporal.zip').is_file()
    for rel, data in files.items():
        assert (root / 'UCF' / rel).read_bytes() == data, rel
    assert (f'AV-GZSL layout check of {root / "UCF"} (features: '
            f'{TINY_METHOD}, split: cls_split): OK') in out.splitlines()
    assert f"ready: use data_root='{root / 'UCF'}' with cls_split" in out
    assert 'widths   audio=8, text=6, video=16' in out
    report = check_avgzsl_layout(root / 'UCF', features='supervised')
    assert report.ok, report.format()
    assert report.method == TINY_METHOD and report.split_kind == 'cls_split'
    assert report.info['widths'] == dict(TINY_WIDTHS)
    assert report.info['n_classes'] == 5
    # 2 classes x 2 clips in stage_1_train, 1 x 2 in stage_2_test_unseen
    assert report.info['clips']['audio/stage_1_train'] == 4
    assert report.info['clips']['video/stage_2_test_unseen'] == 2
    # the published widths differ from the tiny ones: a warning, not an error
    assert any('differs from the published 128' in w
               for w in report.warnings)


def test_zip_with_parent_member_is_refused(http_server, tmp_path, capsys,
                                           isolated_cache):
    files = tiny_layout_files()
    bad = make_zip(files, prefix='UCF/',
                   extra=[('UCF/features/ok.txt', b'fine'),
                          ('../evil', b'owned')])
    http_server.serve('/tcaf-gzsl/ucf-selavi-temporal.zip', bad)
    root = tmp_path / 'data' / 'root'
    rc = _tool().main(['UCF', 'selavi', '--root', str(root), '--mirror',
                       http_server.base + '/tcaf-gzsl', '--no-progress'])
    err = capsys.readouterr().err
    assert rc == 1
    assert "'..' in archive member: '../evil'" in err
    # nothing was extracted, nothing escaped
    assert not (tmp_path / 'data' / 'evil').exists()
    assert not (root / 'evil').exists()
    assert not (root / 'UCF' / 'features').exists()


@pytest.mark.parametrize('name, needle', [
    ('/etc/evil', 'absolute path'),
    ('UCF/features/../../../evil', "'..'"),
    ('C:/evil', 'absolute path'),
])
def test_safe_extract_rejects_unsafe_members(tmp_path, name, needle):
    path = tmp_path / 'a.zip'
    path.write_bytes(make_zip({}, extra=[(name, b'x')]))
    with pytest.raises(UnsafeArchiveError, match=needle):
        safe_extract_zip(str(path), str(tmp_path / 'UCF'), 'ucf')
    assert not (tmp_path / 'evil').exists()


def test_safe_extract_rejects_symlinks_and_other_datasets(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        info = zipfile.ZipInfo('UCF/features/link')
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, '/etc/passwd')
    path = tmp_path / 'link.zip'
    path.write_bytes(buf.getvalue())
    with pytest.raises(UnsafeArchiveError, match='symbolic link'):
        safe_extract_zip(str(path), str(tmp_path / 'UCF'), 'ucf')
    path.write_bytes(make_zip({'features/x.txt': b'x'}, prefix='VGGSound/'))
    with pytest.raises(UnsafeArchiveError, match="dataset 'VGGSound'"):
        safe_extract_zip(str(path), str(tmp_path / 'UCF'), 'ucf')


def test_safe_extract_accepts_flat_and_nested_prefixes(tmp_path):
    files = {'features/m/text/a.txt': b'a', 'class-split/all_class.txt': b'b'}
    prefixes = ['', 'UCF/', 'avgzsl_benchmark_non_averaged_datasets/UCF/']
    for i, prefix in enumerate(prefixes):
        zpath = tmp_path / f'{i}.zip'
        zpath.write_bytes(make_zip(files, prefix=prefix))
        root = tmp_path / f'r{i}' / 'UCF'
        out = safe_extract_zip(str(zpath), str(root))
        assert sorted(osp.relpath(p, root) for p in out) == \
            ['class-split/all_class.txt', 'features/m/text/a.txt']
        assert (root / 'features/m/text/a.txt').read_bytes() == b'a'
        assert not list(root.rglob('*.part'))


def test_layout_report_lists_missing_split_file(http_server, tmp_path,
                                                capsys, isolated_cache):
    missing = 'class-split/cls_split/stage_2_test_seen.csv'
    files = tiny_layout_files(skip=[missing])
    http_server.serve('/tcaf-gzsl/ucf-supervised-temporal.zip',
                      make_zip(files))
    root = tmp_path / 'root'
    rc = _tool().main(['ucf', 'supervised', '--root', str(root), '--mirror',
                       http_server.base + '/tcaf-gzsl', '--no-progress'])
    out = capsys.readouterr().out
    assert rc == 1
    assert f'  MISSING  {missing}' in out
    assert '1 problem(s)' in out
    report = check_avgzsl_layout(root / 'UCF', features='cls')
    assert report.missing == [missing]
    assert report.errors == []


def _pickle_bytes(obj):
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


class _Evil:

    def __reduce__(self):
        return (os.getcwd, ())


def test_layout_checker_finds_content_problems(tmp_path):
    base = f'features/{TINY_METHOD}'
    files = tiny_layout_files(skip=[f'{base}/video/stage_1_train/Archery.pkl'])
    # a wider audio file, an unsafe pickle, a text table lacking a class
    files[f'{base}/audio/stage_1_val_seen/Archery.pkl'] = _pickle_bytes(
        dict(features=[np.zeros((3, 9), np.float32)],
             video_names=['v_Archery_g01_c00'], fps=[1.0]))
    files[f'{base}/audio/stage_1_val_unseen/Biking.pkl'] = _pickle_bytes(
        dict(features=[_Evil()], video_names=['x'], fps=[1.0]))
    table = {k: np.ones(6, np.float32) for k in
             ['Archery', 'Basketball Shooting', 'Biking', 'Fencing']}
    buf = io.BytesIO()
    np.save(buf, table, allow_pickle=True)
    files[f'{base}/text/word_embeddings_ucf_normed.npy'] = buf.getvalue()
    root = write_tree(str(tmp_path / 'UCF'), files)
    report = check_avgzsl_layout(root, features='cls')
    text = report.format()
    assert not report.ok
    assert report.missing == [f'{base}/video/stage_1_train/Archery.pkl']
    assert any('audio features of cls_features_non_averaged have '
               'inconsistent widths [8, 9]' in e for e in report.errors), text
    assert any('Biking.pkl: unreadable' in e and "'posix.getcwd'" in e
               for e in report.errors), text
    assert any('no embedding for classes Diving' in e
               for e in report.errors), text
    assert any('stage_1_val_seen/Archery: audio has 1 clips, video 2' in e
               for e in report.errors), text
    assert 'ERROR' in text and 'MISSING' in text


def test_quick_check_and_missing_root(tmp_path):
    root = write_tree(str(tmp_path / 'UCF'), tiny_layout_files())
    report = check_avgzsl_layout(root, read_features=False)
    assert report.ok and report.info['clips'] == {}
    report = check_avgzsl_layout(str(tmp_path / 'nothing'))
    assert not report.ok and 'dataset root' in report.missing[0]


def test_error_body_is_not_kept_and_rerun_downloads(http_server, tmp_path,
                                                    capsys, isolated_cache):
    """An S3 rate-limit XML served with HTTP 200: the error names the URL
    and the XML, nothing is cached or unpacked, the rerun downloads."""
    name = '/tcaf-gzsl/ucf-supervised-temporal.zip'
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown'
           b'</Code></Error>\n')
    url = http_server.serve(name, xml)
    root = tmp_path / 'data'
    args = ['ucf', 'cls', '--root', str(root), '--mirror',
            http_server.base + '/tcaf-gzsl', '--no-progress', '--quick']
    assert _tool().main(args) == 1
    err = capsys.readouterr().err
    assert url in err and 'an XML error body' in err and 'SlowDown' in err
    assert not (isolated_cache / 'datasets' /
                'ucf-supervised-temporal.zip').exists()
    assert not (root / 'UCF').exists()  # no empty dataset folder
    http_server.serve(name, make_zip(tiny_layout_files(), prefix='UCF/'))
    assert _tool().main(args) == 0, capsys.readouterr().out
    assert len(http_server.requests_for(name)) == 2
    assert (root / 'UCF' / 'class-split' / 'all_class.txt').is_file()


def test_corrupt_member_leaves_no_partial_dataset(tmp_path):
    """A CRC error in the last member: nothing appears under the dataset
    root (extraction goes to a hidden folder that is removed)."""
    files = tiny_layout_files()
    data = bytearray(make_zip(files, prefix='UCF/'))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        last = zf.infolist()[-1]
    # flip a byte of the last member's compressed data (its CRC then fails)
    off = last.header_offset + 30 + len(last.filename.encode()) + 2
    data[off] ^= 0xFF
    (tmp_path / 'bad.zip').write_bytes(bytes(data))
    root = tmp_path / 'root' / 'UCF'
    with pytest.raises((zipfile.BadZipFile, OSError, EOFError)):
        safe_extract_zip(str(tmp_path / 'bad.zip'), str(root), 'ucf')
    assert not root.exists()
    assert os.listdir(tmp_path / 'root') == []
    # an existing dataset root (other features) is left as it was
    root.mkdir()
    (root / 'keep.txt').write_text('x')
    with pytest.raises((zipfile.BadZipFile, OSError, EOFError)):
        safe_extract_zip(str(tmp_path / 'bad.zip'), str(root), 'ucf')
    assert os.listdir(root) == ['keep.txt']
    assert os.listdir(tmp_path / 'root') == ['UCF']


def test_dead_link_says_how_to_rebuild_from_videos(http_server, tmp_path,
                                                   capsys, isolated_cache):
    """A 404 (the archives are going away): one error with the URL, the
    mirror option and the extract_features.py command; nothing created."""
    root = tmp_path / 'data'
    rc = _tool().main(['activitynet', 'cls', '--root', str(root),
                       '--mirror', http_server.base + '/gone',
                       '--no-progress'])
    assert rc == 1
    err = capsys.readouterr().err
    url = http_server.base + '/gone/activitynet-supervised-temporal.zip'
    assert f'HTTP 404 Not Found for {url}' in err
    assert '--mirror' in err
    assert ('tools/dataset_converters/extract_features.py activitynet '
            '<video folder>') in err
    assert 'configs/stft_activitynet_clipclap.py' in err
    assert not (root / 'ActivityNet').exists()


def test_known_checksums_are_honest():
    """Every published archive has an entry; none invents a digest (the
    authors published none; see the tool's docstring)."""
    tool = _tool()
    names = {feature_archive_name(d, f) for d in ('ucf', 'vggsound',
                                                  'activitynet')
             for f in ('supervised', 'selavi')}
    assert set(tool.ARCHIVES) == names
    for entry in tool.ARCHIVES.values():
        sha = entry['sha256']
        assert sha is None or (len(sha) == 64 and
                               int(sha, 16) >= 0)  # hex when known
        assert entry['size'] is None or entry['size'] > 0
