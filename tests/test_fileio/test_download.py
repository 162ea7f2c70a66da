"""stftbox.fileio.download against a real HTTP server on 127.0.0.1."""
import hashlib
import io
import os
import zipfile

import numpy as np
import pytest
import torch
import yaml

from stftbox.fileio import (BadBodyError, CheckpointError, ChecksumError,
                            DownloadError, ModelZooError, apply_mirror,
                            download, get_cache_dir, get_checkpoint_dir,
                            load_checkpoint_safely, resolve_checkpoint)

PAYLOAD = np.random.default_rng(0).integers(
    0, 256, size=300_000, dtype=np.uint8).tobytes()
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_verifies_and_skips_when_cached(http_server, tmp_path):
    url = http_server.serve('/files/blob.bin', PAYLOAD)
    dst = tmp_path / 'sub' / 'blob.bin'
    out = download(url, dst, sha256=PAYLOAD_SHA.upper(), progress=False)
    assert out == str(dst)
    assert dst.read_bytes() == PAYLOAD
    assert not os.path.exists(str(dst) + '.part')
    assert not os.path.exists(str(dst) + '.lock')
    assert len(http_server.requests) == 1
    assert 'Range' not in http_server.requests[0]['headers']
    # cached and verified: no second request
    download(url, dst, sha256=PAYLOAD_SHA, progress=False)
    assert len(http_server.requests) == 1


def test_resume_after_cut_connection(http_server, tmp_path):
    url = http_server.serve('/files/cut.bin', PAYLOAD, 'cut_once')
    dst = tmp_path / 'cut.bin'
    part = tmp_path / 'cut.bin.part'
    with pytest.raises(DownloadError) as err:
        download(url, dst, sha256=PAYLOAD_SHA, progress=False, retries=0,
                 timeout=5)
    msg = str(err.value)
    assert 'interrupted after 150000 of 300000 bytes' in msg
    assert 'run again to resume' in msg and str(part) in msg
    assert not dst.exists()
    assert part.read_bytes() == PAYLOAD[:150_000]
    # second call resumes with a Range request
    download(url, dst, sha256=PAYLOAD_SHA, progress=False, retries=0,
             timeout=5)
    assert dst.read_bytes() == PAYLOAD
    assert not part.exists()
    reqs = http_server.requests_for('/files/cut.bin')
    assert len(reqs) == 2
    assert 'Range' not in reqs[0]['headers']
    assert reqs[1]['headers']['Range'] == 'bytes=150000-'
    assert reqs[1]['status'] == 206


def test_automatic_retry_resumes_within_one_call(http_server, tmp_path):
    url = http_server.serve('/files/retry.bin', PAYLOAD, 'cut_once')
    dst = tmp_path / 'retry.bin'
    download(url, dst, sha256=PAYLOAD_SHA, progress=False, retries=1,
             retry_wait=0, timeout=5)
    assert dst.read_bytes() == PAYLOAD
    reqs = http_server.requests_for('/files/retry.bin')
    assert [r['headers'].get('Range') for r in reqs] == \
        [None, 'bytes=150000-']


def test_server_ignoring_range_restarts(http_server, tmp_path):
    url = http_server.serve('/files/norange.bin', PAYLOAD, 'ignore_range')
    dst = tmp_path / 'norange.bin'
    (tmp_path / 'norange.bin.part').write_bytes(b'\0' * 1000)
    download(url, dst, sha256=PAYLOAD_SHA, progress=False)
    assert dst.read_bytes() == PAYLOAD
    reqs = http_server.requests_for('/files/norange.bin')
    assert len(reqs) == 1
    assert reqs[0]['headers']['Range'] == 'bytes=1000-'
    assert reqs[0]['status'] == 200


def test_corrupt_partial_file_is_redownloaded_once(http_server, tmp_path):
    url = http_server.serve('/files/badpart.bin', PAYLOAD)
    dst = tmp_path / 'badpart.bin'
    (tmp_path / 'badpart.bin.part').write_bytes(b'X' * 1000)
    download(url, dst, sha256=PAYLOAD_SHA, progress=False)
    assert dst.read_bytes() == PAYLOAD
    reqs = http_server.requests_for('/files/badpart.bin')
    assert [r['headers'].get('Range') for r in reqs] == ['bytes=1000-', None]


def test_complete_partial_file_answered_416(http_server, tmp_path):
    url = http_server.serve('/files/done.bin', PAYLOAD)
    dst = tmp_path / 'done.bin'
    (tmp_path / 'done.bin.part').write_bytes(PAYLOAD)
    download(url, dst, progress=False)
    assert dst.read_bytes() == PAYLOAD
    assert not (tmp_path / 'done.bin.part').exists()


def test_checksum_mismatch_leaves_nothing(http_server, tmp_path):
    url = http_server.serve('/files/blob.bin', PAYLOAD)
    dst = tmp_path / 'blob.bin'
    wrong = '0' * 64
    with pytest.raises(ChecksumError) as err:
        download(url, dst, sha256=wrong, progress=False)
    assert err.value.expected == wrong
    assert err.value.actual == PAYLOAD_SHA
    assert wrong in str(err.value) and PAYLOAD_SHA in str(err.value)
    assert not dst.exists()
    assert not (tmp_path / 'blob.bin.part').exists()
    assert sorted(os.listdir(tmp_path)) == []


def test_http_404_is_a_clear_error(http_server, tmp_path):
    url = http_server.base + '/files/missing.pth'
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path / 'missing.pth', progress=False)
    assert str(err.value) == f'HTTP 404 Not Found for {url}'
    assert os.listdir(tmp_path) == []


def test_unreachable_host_and_bad_scheme(tmp_path):
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port now
    url = f'http://127.0.0.1:{port}/x.pth'
    with pytest.raises(DownloadError, match='cannot reach'):
        download(url, tmp_path / 'x.pth', progress=False, retries=0,
                 timeout=2)
    with pytest.raises(ValueError, match='unsupported URL scheme'):
        download('ftp://example.org/x', tmp_path / 'x', progress=False)


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv('STFTBOX_HOME', raising=False)
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert get_cache_dir() == str(tmp_path / 'home' / '.cache' / 'stftbox')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert get_cache_dir() == str(tmp_path / 'xdg' / 'stftbox')
    monkeypatch.setenv('STFTBOX_HOME', str(tmp_path / 'own'))
    assert get_cache_dir() == str(tmp_path / 'own')
    assert get_checkpoint_dir(create=True) == str(tmp_path / 'own' /
                                                  'checkpoints')
    assert (tmp_path / 'own' / 'checkpoints').is_dir()


def test_apply_mirror(monkeypatch):
    base = 'https://files.example.org/stftbox/v1/'
    url = base + 'sub/model.pth'
    monkeypatch.delenv('STFTBOX_MIRROR', raising=False)
    assert apply_mirror(url, known_bases=[base]) == url
    assert apply_mirror(url, 'http://127.0.0.1:9/m/', [base]) == \
        'http://127.0.0.1:9/m/sub/model.pth'
    monkeypatch.setenv('STFTBOX_MIRROR', 'file:///srv/mirror')
    assert apply_mirror(url, known_bases=[base]) == \
        'file:///srv/mirror/sub/model.pth'
    # URLs outside the known bases are left alone
    assert apply_mirror('https://other.org/a.pth', known_bases=[base]) == \
        'https://other.org/a.pth'
    with pytest.raises(ValueError, match='mirror must be'):
        apply_mirror(url, 'ftp://x', [base])


def _checkpoint_bytes(tmp_path):
    model = torch.nn.Linear(3, 2)
    torch.nn.init.constant_(model.weight, 0.25)
    torch.nn.init.constant_(model.bias, -1.5)
    path = tmp_path / 'src.pth'
    torch.save(dict(meta=dict(epoch=3), state_dict=model.state_dict()), path)
    return path.read_bytes()


def _write_zoo(tmp_path, monkeypatch, entries):
    base = dict(dataset='UCF-GZSL', features='cls', config=None, S=None,
                U=None, HM=None, ZSL=None, params=None, paper_HM=None,
                paper_ZSL=None, paper_HM_gain=None)
    zoo = dict(schema_version=1,
               models=[dict(base, **e) for e in entries])
    path = tmp_path / 'zoo.yml'
    path.write_text(yaml.safe_dump(zoo))
    monkeypatch.setenv('STFTBOX_MODEL_ZOO', str(path))
    return path


def test_resolve_checkpoint_zoo_name_url_and_mirror(http_server, tmp_path,
                                                    monkeypatch,
                                                    isolated_cache):
    data = _checkpoint_bytes(tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    url = http_server.serve('/zoo/tiny_ucf.pth', data)
    http_server.serve('/mirror/tiny_ucf_mirror.pth', data)
    _write_zoo(tmp_path, monkeypatch, [
        dict(name='tiny_ucf', filename='tiny_ucf.pth', url=url, sha256=sha,
             status='released'),
        dict(name='tiny_ucf_mirror', filename='tiny_ucf_mirror.pth',
             url='https://unreachable.invalid/zoo/tiny_ucf_mirror.pth',
             sha256=sha, status='released'),
        dict(name='tiny_unreleased', filename='tiny_unreleased.pth',
             url=None, sha256=None, status='not yet released'),
    ])
    # by name -> downloaded into <STFTBOX_HOME>/checkpoints and verified
    path = resolve_checkpoint('tiny_ucf', progress=False)
    assert path == str(isolated_cache / 'checkpoints' / 'tiny_ucf.pth')
    model = torch.nn.Linear(3, 2)
    ckpt = load_checkpoint_safely(model, path)
    assert ckpt['meta'] == {'epoch': 3}
    assert torch.equal(model.weight, torch.full((2, 3), 0.25))
    assert torch.equal(model.bias, torch.full((2, ), -1.5))
    # by the zoo URL -> cache hit (verified, no new request)
    n = len(http_server.requests)
    assert resolve_checkpoint(url, progress=False) == path
    assert len(http_server.requests) == n
    # a local path is returned as is
    assert resolve_checkpoint(path) == path
    # the mirror replaces the (unreachable) published host
    monkeypatch.setenv('STFTBOX_MIRROR', http_server.base + '/mirror/')
    mpath = resolve_checkpoint('tiny_ucf_mirror', progress=False)
    assert open(mpath, 'rb').read() == data
    assert http_server.requests[-1]['path'] == '/mirror/tiny_ucf_mirror.pth'
    monkeypatch.delenv('STFTBOX_MIRROR')
    with pytest.raises(ModelZooError, match='not yet released'):
        resolve_checkpoint('tiny_unreleased', progress=False)
    with pytest.raises(FileNotFoundError, match='tiny_ucf, tiny_ucf_mirror'):
        resolve_checkpoint('no_such_model', progress=False)


def test_zoo_checksum_mismatch_on_resolve(http_server, tmp_path, monkeypatch,
                                          isolated_cache):
    url = http_server.serve('/zoo/evil.pth', b'tampered bytes')
    _write_zoo(tmp_path, monkeypatch, [
        dict(name='tampered', filename='tampered.pth', url=url,
             sha256='a' * 64, status='released')])
    with pytest.raises(ChecksumError, match='a' * 64):
        resolve_checkpoint('tampered', progress=False)
    ckpt_dir = isolated_cache / 'checkpoints'
    assert not (ckpt_dir / 'tampered.pth').exists()
    assert not (ckpt_dir / 'tampered.pth.part').exists()


def test_downloaded_html_is_not_a_checkpoint(http_server, tmp_path,
                                             isolated_cache):
    """An error page served with HTTP 200 is refused before it is cached;
    the next call downloads again."""
    page = b'<!DOCTYPE html><html><body>Sign in to continue</body></html>'
    url = http_server.serve('/share/model_final.pth', page)
    with pytest.raises(BadBodyError) as err:
        resolve_checkpoint(url, progress=False)
    msg = str(err.value)
    assert url in msg and 'an HTML page' in msg
    assert 'application/octet-stream' in msg and f'{len(page)} bytes' in msg
    cache = isolated_cache / 'checkpoints' / 'urls'
    assert [f for _, _, fs in os.walk(cache) for f in fs
            if not f.endswith('.lock')] == []
    # the server recovers: the rerun asks again and gets the real file
    data = _checkpoint_bytes(tmp_path)
    http_server.serve('/share/model_final.pth', data)
    n = len(http_server.requests)
    path = resolve_checkpoint(url, progress=False)
    assert len(http_server.requests) == n + 1
    assert path.startswith(str(cache)) and path.endswith('/model_final.pth')
    assert open(path, 'rb').read() == data
    # another URL with the same file name is another cached file
    other = http_server.serve('/other/model_final.pth', data)
    assert resolve_checkpoint(other, progress=False) != path


def test_bad_cached_body_is_replaced(http_server, tmp_path, isolated_cache):
    """A bad body cached by an older version is removed and downloaded
    again instead of being reused."""
    data = _checkpoint_bytes(tmp_path)
    url = http_server.serve('/m/model.pth', data)
    dst = tmp_path / 'cache' / 'model.pth'
    dst.parent.mkdir()
    dst.write_bytes(b'<?xml version="1.0"?><Error><Code>SlowDown</Code>')
    download(url, dst, progress=False, expect='checkpoint')
    assert dst.read_bytes() == data
    assert len(http_server.requests) == 1
    # a good cached file is reused without asking the server
    download(url, dst, progress=False, expect='checkpoint')
    assert len(http_server.requests) == 1


@pytest.mark.parametrize('body, expect, size, needle', [
    (b'<?xml version="1.0"?><Error><Code>SlowDown</Code></Error>', 'zip',
     None, 'an XML error body'),
    (b'PK\x03\x04truncated', 'zip', None, 'central directory'),
    (b'{"error": "quota"}', 'checkpoint', None, 'a JSON body'),
    (b'', 'zip', None, 'an empty body'),
    (b'12345', None, 7, 'expected 7 bytes, got 5'),
])
def test_bad_body_is_removed_and_named(http_server, tmp_path, body, expect,
                                       size, needle):
    url = http_server.serve('/f/file.bin', body)
    dst = tmp_path / 'file.bin'
    with pytest.raises(BadBodyError) as err:
        download(url, dst, progress=False, expect=expect, size=size)
    assert url in str(err.value) and needle in str(err.value)
    assert err.value.url == url
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_good_zip_body_passes(http_server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        zf.writestr('a.txt', 'x')
    url = http_server.serve('/f/a.zip', buf.getvalue())
    path = download(url, tmp_path / 'a.zip', progress=False, expect='zip',
                    size=len(buf.getvalue()))
    assert open(path, 'rb').read() == buf.getvalue()


def test_zoo_entry_shipped_in_the_repository(tmp_path, monkeypatch,
                                             isolated_cache):
    """A ``url`` without a scheme is a path relative to the zoo file."""
    data = _checkpoint_bytes(tmp_path)
    (tmp_path / 'checkpoints').mkdir()
    (tmp_path / 'checkpoints' / 'shipped.pth').write_bytes(data)
    _write_zoo(tmp_path, monkeypatch, [
        dict(name='shipped', filename='shipped.pth',
             url='checkpoints/shipped.pth',
             sha256=hashlib.sha256(data).hexdigest(), status='released'),
        dict(name='shipped_bad', filename='shipped_bad.pth',
             url='checkpoints/shipped.pth', sha256='b' * 64,
             status='released')])
    path = resolve_checkpoint('shipped', progress=False)
    assert path == str(isolated_cache / 'checkpoints' / 'shipped.pth')
    assert open(path, 'rb').read() == data
    with pytest.raises(ChecksumError, match='b' * 64):
        resolve_checkpoint('shipped_bad', progress=False)
    assert not (isolated_cache / 'checkpoints' / 'shipped_bad.pth').exists()


def test_load_from_url_is_a_verified_download(http_server, tmp_path,
                                              isolated_cache):
    """``load_from`` URLs go through the verified download (mmengine would
    fetch them unchecked into the torch.hub cache)."""
    from stftbox.fileio import resolve_load_from
    url = http_server.serve('/w/latest.pth', b'<?xml version="1.0"?><Error/>')
    cfg = dict(load_from=url)
    with pytest.raises(BadBodyError, match='an XML error body'):
        resolve_load_from(cfg, progress=False)
    assert cfg['load_from'] == url
    data = _checkpoint_bytes(tmp_path)
    http_server.serve('/w/latest.pth', data)
    path = resolve_load_from(cfg, progress=False)
    assert cfg['load_from'] == path and open(path, 'rb').read() == data
    assert path.startswith(str(isolated_cache))
    # local paths and None are left alone
    for value in (None, str(tmp_path / 'missing.pth')):
        assert resolve_load_from(dict(load_from=value)) == value


@pytest.mark.parametrize('validator', ['etag', 'last_modified'])
def test_cached_url_is_revalidated(http_server, tmp_path, isolated_cache,
                                   capsys, validator):
    """A checkpoint URL without a known SHA-256: a cached copy is checked
    with a conditional request (ETag / Last-Modified); a changed file on
    the server is downloaded again, never silently stale."""
    old = _checkpoint_bytes(tmp_path)
    url = http_server.serve('/latest/model.pth', old, validator)
    path = resolve_checkpoint(url, progress=False)
    assert open(path, 'rb').read() == old
    reqs = http_server.requests_for('/latest/model.pth')
    assert len(reqs) == 1 and reqs[0]['status'] == 200
    # unchanged: one conditional request, answered 304, no body, no note
    assert resolve_checkpoint(url, progress=False) == path
    reqs = http_server.requests_for('/latest/model.pth')
    header = 'If-None-Match' if validator == 'etag' else 'If-Modified-Since'
    assert header in reqs[1]['headers'] and reqs[1]['status'] == 304
    assert capsys.readouterr().err == ''
    # the server's file changes: downloaded again, and said
    torch.save(dict(state_dict=dict(w=torch.ones(3))), str(tmp_path / 'n'))
    new = (tmp_path / 'n').read_bytes()
    http_server.serve('/latest/model.pth', new, validator)
    assert resolve_checkpoint(url, progress=False) == path
    assert open(path, 'rb').read() == new
    err = capsys.readouterr().err
    assert err.startswith(f'note: {url} changed on the server since the '
                          'cached copy of ')
    assert err.endswith('; downloading it again\n')
    statuses = [r['status'] for r in
                http_server.requests_for('/latest/model.pth')]
    assert statuses == [200, 304, 200, 200]


def test_cached_url_that_cannot_be_checked_is_said(http_server, tmp_path,
                                                   isolated_cache, capsys):
    # no validators from the server, then the server is gone: the cached
    # copy is used, with one line saying so and how to refresh it
    data = _checkpoint_bytes(tmp_path)
    url = http_server.serve('/plain/model.pth', data)
    path = resolve_checkpoint(url, progress=False)
    capsys.readouterr()
    assert resolve_checkpoint(url, progress=False) == path
    err = capsys.readouterr().err.strip()
    assert err.startswith(f'note: using the cached copy of {url} '
                          '(downloaded ')
    assert err.endswith('): cannot check it for changes (the server gave no '
                        f'ETag/Last-Modified to check it against); delete '
                        f'{path} to download it again')
    assert len(http_server.requests_for('/plain/model.pth')) == 1
    # with a known SHA-256 nothing is asked: the digest decides
    sha = hashlib.sha256(data).hexdigest()
    n = len(http_server.requests)
    assert resolve_checkpoint(url, progress=False, sha256=sha) == path
    assert len(http_server.requests) == n and capsys.readouterr().err == ''
