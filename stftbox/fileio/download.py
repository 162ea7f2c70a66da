"""Resumable, verified downloads and checkpoint resolution.

Only the standard library (``urllib.request``) and ``tqdm`` are used.

* :func:`download` streams into ``<dst>.part``, resumes a partial ``.part``
  with an HTTP ``Range`` request, verifies the SHA-256 and only then renames
  the file into place (``os.replace``, atomic on POSIX): a file under the
  final name is always complete and verified. Before the rename the body is
  also checked (:func:`stftbox.fileio.body_check.check_body`: zip magic and
  central directory, ``torch.save`` signature, size) so an error page
  served with HTTP 200 is removed, never cached; a cached file that fails
  the check (left by an older version) is removed and downloaded again.
* Cache directory: env ``STFTBOX_HOME``, else ``$XDG_CACHE_HOME/stftbox``,
  else ``~/.cache/stftbox``; checkpoints go to ``<cache>/checkpoints/``.
* Mirror: env ``STFTBOX_MIRROR`` (or a ``mirror`` argument) is a base URL
  that replaces the host/folder of known model-zoo URLs, for people who host
  the checkpoints themselves: ``<mirror>/<filename>``.
* :func:`resolve_checkpoint` turns a local path, an URL or a model-zoo name
  into a local file.
"""
import contextlib
import hashlib
import http.client
import json
import os
import os.path as osp
import pathlib
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from .atomic_io import dump_json_atomic
from .body_check import BodyError, check_body, describe_body
from .hashing import normalize_sha256, sha256_file
from stftbox.utils.progress import progress_bar

__all__ = [
    'DownloadError', 'ChecksumError', 'BadBodyError', 'get_cache_dir', 'get_checkpoint_dir',
    'get_mirror', 'apply_mirror', 'download', 'resolve_checkpoint',
    'zoo_download_url', 'resolve_load_from'
]

_USER_AGENT = 'stftbox-downloader/1'
_CHUNK = 1 << 16  # bytes per read (64 KiB)


class DownloadError(RuntimeError):
    """A download failed: HTTP error status, unreachable host, connection
    cut (the ``.part`` file is kept for resuming), or a bad response."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not have the expected SHA-256; the bad file
    has been removed. ``expected`` and ``actual`` hold the hex digests."""

    def __init__(self, message, expected=None, actual=None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class BadBodyError(DownloadError):
    """The server answered, but the body is not the expected file (an XML or
    HTML error page served with HTTP 200, a truncated zip, ...). The body
    has been removed, so the next call downloads again. ``url`` and
    ``received`` (a description of the body) are attributes."""

    def __init__(self, message, url=None, received=None):
        super().__init__(message)
        self.url = url
        self.received = received


class _Interrupted(Exception):
    """Internal: the body ended early; ``received``/``total`` in bytes."""

    def __init__(self, received, total, reason):
        super().__init__(reason)
        self.received = received
        self.total = total
        self.reason = reason


# ---------------------------------------------------------------------------
# locations


def get_cache_dir(create=False):
    """The stftbox cache directory.

    ``$STFTBOX_HOME`` if set, else ``$XDG_CACHE_HOME/stftbox`` if
    ``XDG_CACHE_HOME`` is set, else ``~/.cache/stftbox``.

    Args:
        create (bool): create it (and parents) if missing.

    Returns:
        str: absolute path.

    Raises:
        OSError: ``create`` and the directory cannot be made.
    """
    home = os.environ.get('STFTBOX_HOME')
    if not home:
        xdg = os.environ.get('XDG_CACHE_HOME')
        home = osp.join(xdg, 'stftbox') if xdg else \
            osp.join(osp.expanduser('~'), '.cache', 'stftbox')
    home = osp.abspath(osp.expanduser(home))
    if create:
        os.makedirs(home, exist_ok=True)
    return home


def get_checkpoint_dir(create=False):
    """``<cache>/checkpoints`` (see :func:`get_cache_dir`).

    Args:
        create (bool): create it if missing.

    Returns:
        str: absolute path.

    Raises:
        OSError: ``create`` and the directory cannot be made.
    """
    path = osp.join(get_cache_dir(), 'checkpoints')
    if create:
        os.makedirs(path, exist_ok=True)
    return path


def get_mirror(mirror=None, env='STFTBOX_MIRROR'):
    """The mirror base URL: ``mirror`` if given, else ``$<env>``, else None.

    Args:
        mirror (str, optional): explicit base URL (``http(s)://`` or
            ``file://``).
        env (str): environment variable to read.

    Returns:
        str | None: base URL without trailing slash.

    Raises:
        ValueError: the mirror is not an http(s)/file URL.
    """
    mirror = mirror or os.environ.get(env) or None
    if mirror is None:
        return None
    scheme = urllib.parse.urlsplit(mirror).scheme
    if scheme not in ('http', 'https', 'file'):
        raise ValueError(f'mirror must be an http(s):// or file:// URL, got '
                         f'{mirror!r}')
    return mirror.rstrip('/')


def apply_mirror(url, mirror=None, known_bases=(), env='STFTBOX_MIRROR'):
    """Replace the base of a known URL by a mirror.

    Args:
        url (str): original URL.
        mirror (str, optional): base URL; defaults to ``$<env>``.
        known_bases (Iterable[str]): base URLs (folders) that a mirror may
            replace, e.g. the model-zoo download folder. URLs outside them
            are returned unchanged.
        env (str): environment variable holding the default mirror.

    Returns:
        str: ``<mirror>/<rest of url after the base>`` or ``url``.

    Raises:
        ValueError: malformed mirror (see :func:`get_mirror`).
    """
    mirror = get_mirror(mirror, env=env)
    if not mirror:
        return url
    for base in sorted(set(known_bases), key=len, reverse=True):
        base = base.rstrip('/') + '/'
        if url.startswith(base):
            return mirror + '/' + url[len(base):]
    return url


def _redact(url):
    """URL without user:password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    netloc = parts.hostname or ''
    if parts.port:
        netloc += f':{parts.port}'
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


# ---------------------------------------------------------------------------
# download


@contextlib.contextmanager
def _file_lock(path):
    """Exclusive advisory lock on ``path`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.remove(path)


def _content_range(value):
    """Parse ``bytes START-END/TOTAL`` -> (start, total or None)."""
    m = re.fullmatch(r'\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*', value or '')
    if not m:
        return None, None
    total = None if m.group(3) == '*' else int(m.group(3))
    return int(m.group(1)), total


def _progress_bar(total, initial, desc, enabled):
    return progress_bar(total, initial=initial, desc=desc, unit='B',
                        unit_scale=True, enabled=enabled)


def _open(url, offset, timeout, extra_headers=None):
    headers = {'User-Agent': _USER_AGENT, 'Accept-Encoding': 'identity'}
    if offset:
        headers['Range'] = f'bytes={offset}-'
    headers.update(extra_headers or {})
    req = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(req, timeout=timeout)


def _validators_file(dst_path):
    """Sidecar of a cached download: the URL, the server's ``ETag`` and
    ``Last-Modified`` and when it was downloaded (JSON)."""
    return dst_path + '.http.json'


def _read_validators(dst_path):
    try:
        with open(_validators_file(dst_path), encoding='utf-8') as f:
            meta = json.load(f)
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def _downloaded_when(dst_path, meta):
    when = meta.get('downloaded')
    if not when:
        when = time.strftime('%Y-%m-%d %H:%M',
                             time.localtime(osp.getmtime(dst_path)))
    return when


def revalidate_cached(url, dst_path, timeout=60.0):
    """Ask the server whether the cached copy of ``url`` is still its
    file, as HTTP caches do: a conditional GET with ``If-None-Match``
    (``ETag``) / ``If-Modified-Since`` (``Last-Modified``) recorded when it
    was downloaded. ``304 Not Modified`` (or a 200 with the same validator)
    means fresh; the body of a 200 is not read.

    Args:
        url (str): the http(s) URL the file came from.
        dst_path (str): the cached file.
        timeout (float): seconds.

    Returns:
        tuple: ``('fresh', None)``, ``('changed', None)`` or
        ``('unknown', reason)`` (no validators recorded or sent by the
        server, server unreachable or answering an error).
    """
    meta = _read_validators(dst_path)
    etag, modified = meta.get('etag'), meta.get('last_modified')
    if not etag and not modified:
        return 'unknown', ('the server gave no ETag/Last-Modified to check '
                           'it against')
    headers = {}
    if etag:
        headers['If-None-Match'] = etag
    if modified:
        headers['If-Modified-Since'] = modified
    try:
        resp = _open(url, 0, timeout, headers)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304:
            return 'fresh', None
        return 'unknown', f'HTTP {exc.code} {exc.reason}'
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        return 'unknown', str(getattr(exc, 'reason', exc))
    with resp:
        status = getattr(resp, 'status', None) or 200
        new_etag = resp.headers.get('ETag')
        new_modified = resp.headers.get('Last-Modified')
    if status == 304:
        return 'fresh', None
    if (etag and new_etag == etag) or (not etag and modified and
                                       new_modified == modified):
        return 'fresh', None
    return 'changed', None


def _note(msg):
    print(f'note: {msg}', file=sys.stderr)


def _attempt(url, part, resume, progress, timeout, chunk_size, info=None):
    """One HTTP request into ``part`` (``info['content_type']`` is set to
    the response's Content-Type when ``info`` is a dict).

    Returns:
        tuple: ``(sha256 hex, resumed, None)``, or ``(None, True,
        remote size or None)`` when the server answered 416 to a Range
        request (``part`` already complete, or longer than the remote file).
    """
    offset = osp.getsize(part) if resume and osp.exists(part) else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            m = re.fullmatch(r'\s*bytes\s+\*/(\d+)\s*',
                             (exc.headers or {}).get('Content-Range', ''))
            return None, True, int(m.group(1)) if m else None
        raise DownloadError(
            f'HTTP {exc.code} {exc.reason} for {_redact(url)}') from None
    except urllib.error.URLError as exc:
        raise DownloadError(
            f'cannot reach {_redact(url)}: {exc.reason}') from None
    except (socket.timeout, TimeoutError, ConnectionError,
            http.client.HTTPException) as exc:
        raise _Interrupted(offset, None, f'{type(exc).__name__}: {exc}')

    with resp:
        status = getattr(resp, 'status', None) or 200
        if info is not None:
            info['content_type'] = resp.headers.get('Content-Type')
            info['etag'] = resp.headers.get('ETag')
            info['last_modified'] = resp.headers.get('Last-Modified')
        length = resp.headers.get('Content-Length')
        length = int(length) if length and length.isdigit() else None
        resumed = False
        if offset and status == 206:
            start, total = _content_range(resp.headers.get('Content-Range'))
            if start == offset:
                resumed = True
                if total is None and length is not None:
                    total = offset + length
        if not resumed:  # 200 (Range ignored) or a wrong range: restart
            offset = 0
            total = length
        hasher = hashlib.sha256()
        if resumed:
            sha256_file(part, hasher=hasher)
        received = offset
        desc = osp.basename(part[:-len('.part')])
        with open(part, 'ab' if resumed else 'wb') as f, \
                _progress_bar(total, offset, desc, progress) as bar:
            while True:
                try:
                    block = resp.read(chunk_size)
                except (http.client.IncompleteRead, ConnectionError,
                        socket.timeout, TimeoutError, OSError) as exc:
                    f.flush()
                    raise _Interrupted(received, total,
                                       f'{type(exc).__name__}: {exc}')
                if not block:
                    break
                f.write(block)
                hasher.update(block)
                received += len(block)
                if bar is not None:
                    bar.update(len(block))
            f.flush()
            os.fsync(f.fileno())
    if total is not None and received < total:
        raise _Interrupted(received, total, 'connection closed early')
    if total is not None and received > total:
        os.remove(part)
        raise DownloadError(
            f'{_redact(url)}: server sent {received} bytes, more than the '
            f'announced {total}; partial file removed')
    return hasher.hexdigest(), resumed, None


def download(url,
             dst_path,
             sha256=None,
             resume=True,
             progress=True,
             timeout=60.0,
             retries=2,
             retry_wait=1.0,
             overwrite=False,
             chunk_size=_CHUNK,
             expect=None,
             size=None,
             revalidate=False):
    """Download ``url`` to ``dst_path``, resumable and verified.

    The bytes go to ``dst_path + '.part'``; an existing ``.part`` is resumed
    with ``Range: bytes=<size>-`` (a server that ignores Range and answers
    200 is handled by restarting from zero). When the body is complete the
    SHA-256 is checked and the file is moved into place with ``os.replace``,
    so nothing incomplete or unverified ever appears under ``dst_path``.
    Concurrent calls for the same ``dst_path`` serialise on a lock file.

    Args:
        url (str): ``http://``, ``https://`` or ``file://`` URL.
        dst_path (str | os.PathLike): final file path; parent directories
            are created.
        sha256 (str, optional): expected hex digest. When given, an existing
            ``dst_path`` with that digest is returned without downloading,
            and a mismatch removes the download and raises.
        resume (bool): resume an existing ``.part`` (else start over).
        progress (bool): show a tqdm progress bar on stderr.
        timeout (float): seconds to wait for connect and for each read.
        retries (int): automatic retries (resuming) after a cut connection
            or timeout within this call.
        retry_wait (float): seconds before the first retry (doubles each
            time, at most 30 s).
        overwrite (bool): download even if ``dst_path`` exists and no
            ``sha256`` is given.
        chunk_size (int): bytes per read.
        expect (str | callable, optional): what the body must be:
            ``'zip'``, ``'checkpoint'`` or a check function (see
            :func:`stftbox.fileio.body_check.check_body`). Checked on the
            complete body before it gets its final name, and on a cached
            ``dst_path`` before it is reused.
        size (int, optional): expected size in bytes, when known.
        revalidate (bool): without ``sha256``, a cached ``dst_path`` is
            checked against the server before it is reused
            (:func:`revalidate_cached`: conditional request with the
            ``ETag`` / ``Last-Modified`` recorded at download, kept in
            ``dst_path + '.http.json'``): unchanged -> reused; changed ->
            downloaded again (one note on stderr); cannot be checked (no
            validators, server unreachable) -> reused with one note on
            stderr naming the file to delete for a fresh download.

    Returns:
        str: ``dst_path`` (absolute).

    Raises:
        DownloadError: HTTP error status (message has the URL and status,
            e.g. ``HTTP 404 Not Found for <url>``), unreachable host, or the
            connection was cut more than ``retries`` times (the ``.part``
            file is kept; call again to resume).
        ChecksumError: the complete file has another SHA-256 (message has
            expected and actual digests; the file is removed and nothing is
            left under ``dst_path``). A resumed download whose digest is
            wrong is first retried once from scratch.
        BadBodyError: the body fails the ``expect`` / ``size`` check (an
            error page served with HTTP 200, ...). The message names the
            URL and what came back (content type, size, first bytes); the
            body is removed and nothing is left under ``dst_path``.
        ValueError: unsupported URL scheme or malformed ``sha256``.
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ('http', 'https', 'file'):
        raise ValueError(f'unsupported URL scheme {scheme!r}: {url}')
    expected = normalize_sha256(sha256)
    dst_path = osp.abspath(os.fspath(dst_path))
    os.makedirs(osp.dirname(dst_path), exist_ok=True)
    part = dst_path + '.part'
    with _file_lock(dst_path + '.lock'):
        if osp.isfile(dst_path):
            if expected is not None and sha256_file(dst_path) == expected:
                return dst_path
            if expected is None and not overwrite:
                try:
                    check_body(dst_path, expect, size)
                except BodyError:  # a bad body cached by an older version
                    os.remove(dst_path)
                else:
                    if not revalidate or scheme == 'file':
                        return dst_path
                    meta = _read_validators(dst_path)
                    when = _downloaded_when(dst_path, meta)
                    state, why = revalidate_cached(url, dst_path, timeout)
                    if state == 'fresh':
                        return dst_path
                    if state == 'unknown':
                        _note(f'using the cached copy of {_redact(url)} '
                              f'(downloaded {when}): cannot check it for '
                              f'changes ({why}); delete {dst_path} to '
                              'download it again')
                        return dst_path
                    _note(f'{_redact(url)} changed on the server since the '
                          f'cached copy of {when}; downloading it again')
                    resume = False
        attempt = 0
        fresh_retry_done = False
        info = {}
        while True:
            try:
                digest, resumed, remote_total = _attempt(
                    url, part, resume, progress, timeout, chunk_size, info)
            except _Interrupted as exc:
                if attempt < retries:
                    time.sleep(min(retry_wait * 2**attempt, 30.0))
                    attempt += 1
                    resume = True
                    continue
                total = '?' if exc.total is None else exc.total
                raise DownloadError(
                    f'download of {_redact(url)} interrupted after '
                    f'{exc.received} of {total} bytes ({exc.reason}); the '
                    f'partial file {part} is kept: run again to resume'
                ) from None
            if digest is None:
                # 416: the .part is complete already, or longer than the file
                if osp.getsize(part) == remote_total or expected is not None:
                    digest = sha256_file(part)
                else:
                    os.remove(part)
                    continue
            received = describe_body(part, info.get('content_type'))
            if expected is not None and digest != expected:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(part)
                if resumed and not fresh_retry_done:
                    fresh_retry_done = True
                    continue
                raise ChecksumError(
                    f'SHA-256 mismatch for {_redact(url)}: expected '
                    f'{expected}, got {digest} (the server sent {received}); '
                    'the downloaded file was removed', expected=expected,
                    actual=digest)
            try:
                check_body(part, expect, size)
            except BodyError as exc:
                os.remove(part)
                if resumed and not fresh_retry_done:
                    fresh_retry_done = True
                    continue
                raise BadBodyError(
                    f'{_redact(url)} returned {received}, not the expected '
                    f'file: {exc}; nothing was kept, run again to download '
                    'again', url=_redact(url), received=received) from None
            os.replace(part, dst_path)
            if scheme != 'file':
                dump_json_atomic(dict(
                    url=_redact(url), etag=info.get('etag'),
                    last_modified=info.get('last_modified'),
                    downloaded=time.strftime('%Y-%m-%d %H:%M:%S')),
                    _validators_file(dst_path))
            return dst_path


# ---------------------------------------------------------------------------
# checkpoints


def zoo_download_url(entry, mirror=None):
    """Download URL of a model-zoo entry, with the mirror applied.

    With a mirror (argument or ``$STFTBOX_MIRROR``) the URL is
    ``<mirror>/<entry filename>`` (also for entries not yet released, so
    people can host their own checkpoints); otherwise the entry's ``url``.
    A ``url`` without a scheme is a path relative to the repository root (a
    checkpoint shipped in the repository) and becomes a ``file://`` URL.

    Args:
        entry (dict): a :func:`stftbox.fileio.model_zoo.get_entry` result.
        mirror (str, optional): mirror base URL.

    Returns:
        str: the URL.

    Raises:
        ModelZooError: no mirror and the entry has no URL (not yet
            released / pending).
        ValueError: malformed mirror.
    """
    from .model_zoo import ModelZooError
    mirror = get_mirror(mirror)
    if mirror:
        return f'{mirror}/{urllib.parse.quote(entry["filename"])}'
    if not entry.get('url'):
        raise ModelZooError(
            f"model {entry['name']!r} has no download URL (status: "
            f"{entry['status']}); set STFTBOX_MIRROR or pass a mirror if you "
            f"host {entry['filename']} yourself")
    if not urllib.parse.urlsplit(entry['url']).scheme:
        # relative to the repository root (the model index's folder): a
        # checkpoint shipped in the repository
        from .model_zoo import model_zoo_path, zoo_root
        local = osp.join(zoo_root(model_zoo_path()), entry['url'])
        return pathlib.Path(local).as_uri()
    return entry['url']


def zoo_weights(entry, fmt='pth'):
    """The download record of one weights file of a zoo entry.

    Args:
        entry (dict): a :func:`stftbox.fileio.model_zoo.get_entry` result.
        fmt (str): ``'pth'`` (the ``torch.save`` checkpoint) or
            ``'safetensors'`` (the same weights, no pickle).

    Returns:
        dict: ``name``, ``filename``, ``url``, ``sha256``, ``size``,
        ``status`` -- what :func:`zoo_download_url` and :func:`download`
        take.

    Raises:
        ModelZooError: ``fmt='safetensors'`` and the entry has none.
        ValueError: unknown ``fmt``.
    """
    from .model_zoo import ModelZooError
    if fmt == 'pth':
        return entry
    if fmt != 'safetensors':
        raise ValueError(f"fmt must be 'pth' or 'safetensors', got {fmt!r}")
    st = entry.get('safetensors')
    if not st:
        raise ModelZooError(f"model {entry['name']!r} has no safetensors "
                            'weights in the zoo')
    return dict(name=entry['name'], filename=st['filename'],
                url=st.get('url'), sha256=st.get('sha256'),
                size=st.get('size'), status=entry['status'])


def fetch_zoo_weights(entry, fmt='pth', mirror=None, cache_dir=None,
                      progress=True, timeout=60.0):
    """A local, verified copy of a zoo entry's weights: the shipped file
    for a repository-relative ``url``, else downloaded into
    ``<cache>/checkpoints`` (mirror honoured, SHA-256 and size checked).

    Args:
        entry (dict): a zoo entry.
        fmt (str): ``'pth'`` or ``'safetensors'`` (:func:`zoo_weights`).
        mirror, cache_dir, progress, timeout: as :func:`resolve_checkpoint`.

    Returns:
        str: absolute local path.

    Raises:
        ModelZooError: no such weights (not yet released, no safetensors).
        DownloadError / ChecksumError: see :func:`download`.
    """
    rec = zoo_weights(entry, fmt)
    url = zoo_download_url(rec, mirror)
    return download(url, osp.join(cache_dir or get_checkpoint_dir(),
                                  rec['filename']),
                    sha256=rec['sha256'], progress=progress,
                    timeout=timeout, expect='checkpoint',
                    size=rec.get('size'))


def _find_zoo_entry_by_url(url):
    from .model_zoo import load_model_zoo
    try:
        zoo = load_model_zoo()
    except (OSError, LookupError):
        return None
    for entry in zoo['models']:
        if entry.get('url') and entry['url'] == url:
            return entry
    return None


def resolve_checkpoint(spec,
                       mirror=None,
                       cache_dir=None,
                       progress=True,
                       timeout=60.0,
                       sha256=None):
    """Turn a checkpoint path, URL or model-zoo name into a local file.

    * an existing local path -> itself (absolute);
    * ``file://`` URL -> its local path;
    * ``http(s)://`` URL -> downloaded into ``<cache>/checkpoints/`` (cache
      hit when present); verified against the model zoo's SHA-256 when the
      URL is a zoo entry (the mirror then applies; file ``<filename>``),
      else against ``sha256`` (file ``urls/<hash of the URL>/<name>``);
      without a ``sha256`` a cached copy is revalidated with the server
      (``ETag`` / ``Last-Modified``; :func:`revalidate_cached`) and
      downloaded again when it changed, or used with a note saying so and
      how to refresh it when it cannot be checked;
    * a model-zoo name (the metafiles of ``model-index.yml``) -> its URL,
      as above.

    Load the result with :func:`stftbox.fileio.load_checkpoint_safely` or
    mmengine's ``load_checkpoint`` (weights-only; see
    :func:`stftbox.fileio.register_safe_globals`).

    Args:
        spec (str | os.PathLike): path, URL or zoo name.
        mirror (str, optional): mirror base URL (default
            ``$STFTBOX_MIRROR``).
        cache_dir (str, optional): download folder (default
            :func:`get_checkpoint_dir`).
        progress (bool): show a progress bar.
        timeout (float): network timeout, seconds.
        sha256 (str, optional): expected digest for a non-zoo URL.

    Returns:
        str: absolute local path.

    Raises:
        FileNotFoundError: not a file, URL or known zoo name (the message
            lists the zoo names).
        ModelZooError: zoo entry without a download (not yet released).
        DownloadError / ChecksumError: see :func:`download`.
    """
    text = os.fspath(spec)
    if osp.isfile(text):
        return osp.abspath(text)
    parts = urllib.parse.urlsplit(text)
    if parts.scheme == 'file':
        path = urllib.request.url2pathname(parts.path)
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint not found: {path}')
        return osp.abspath(path)
    cache_dir = cache_dir or get_checkpoint_dir()
    if parts.scheme in ('http', 'https'):
        entry = _find_zoo_entry_by_url(text)
        if entry is not None:
            url = zoo_download_url(entry, mirror)
            return download(url, osp.join(cache_dir, entry['filename']),
                            sha256=entry['sha256'], progress=progress,
                            timeout=timeout, expect='checkpoint',
                            size=entry.get('size'))
        name = osp.basename(urllib.parse.unquote(parts.path)) or 'checkpoint'
        if name in ('.', '..'):
            name = 'checkpoint'
        # one folder per URL: two URLs ending in the same file name (e.g.
        # latest.pth) must not share a cached file
        url_key = hashlib.sha256(text.encode()).hexdigest()[:16]
        # without a known SHA-256 the cached copy is revalidated (ETag /
        # Last-Modified), never silently stale
        return download(text, osp.join(cache_dir, 'urls', url_key, name),
                        sha256=sha256, progress=progress, timeout=timeout,
                        expect='checkpoint', revalidate=sha256 is None)
    from .model_zoo import ModelZooError, get_entry, load_model_zoo
    try:
        zoo = load_model_zoo()
    except FileNotFoundError:
        zoo = {'models': []}
    try:
        entry = get_entry(text, zoo)
    except ModelZooError:
        known = ', '.join(e['name'] for e in zoo['models']) or 'none'
        raise FileNotFoundError(
            f'{text!r} is not an existing file, an http(s)/file URL or a '
            f'model-zoo name (known names: {known})') from None
    url = zoo_download_url(entry, mirror)
    return download(url, osp.join(cache_dir, entry['filename']),
                    sha256=entry['sha256'], progress=progress,
                    timeout=timeout, expect='checkpoint',
                    size=entry.get('size'))


def resolve_load_from(cfg, **kwargs):
    """Replace an http(s) URL or model-zoo name in ``cfg.load_from`` by the
    verified local file of :func:`resolve_checkpoint`.

    mmengine would otherwise fetch a URL itself (``torch.hub`` cache), with
    no check of what came back. Local paths and ``None`` are left as they
    are (a missing file is reported by
    :func:`stftbox.engine.check_config`).

    Args:
        cfg (mmengine.Config | dict): changed in place.
        **kwargs: passed to :func:`resolve_checkpoint` (``mirror``,
            ``progress``, ``timeout``).

    Returns:
        str | None: the resulting ``load_from``.

    Raises:
        DownloadError / ChecksumError / BadBodyError / ModelZooError: see
            :func:`resolve_checkpoint`.
    """
    spec = cfg.get('load_from')
    if not spec or osp.isfile(str(spec)):
        return spec
    scheme = urllib.parse.urlsplit(str(spec)).scheme
    if scheme in ('http', 'https'):
        cfg['load_from'] = resolve_checkpoint(str(spec), **kwargs)
    elif not scheme:
        from .model_zoo import ModelZooError, get_entry
        try:
            get_entry(str(spec))
        except (ModelZooError, OSError):
            return spec  # a path (check_config reports a missing one)
        cfg['load_from'] = resolve_checkpoint(str(spec), **kwargs)
    return cfg['load_from']
