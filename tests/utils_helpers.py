"""Helpers for tests/test_utils (imported by conftest.py and the tests):
a real local HTTP server with Range support and a tiny AV-GZSL tree in the
benchmark layout.

The server is a ``ThreadingHTTPServer`` on 127.0.0.1 (random port) whose
handler implements ``Range: bytes=N-`` itself and can misbehave on purpose:
``cut_once`` (close the connection mid-body on the first request) and
``ignore_range`` (answer 200 with the whole body to a Range request), or
send validators: ``etag`` (an ``ETag`` from the body's hash; a matching
``If-None-Match`` gets ``304 Not Modified``) and ``last_modified`` (a
``Last-Modified`` per version of the file; a matching
``If-Modified-Since`` gets 304). It
records every request's headers and stops at fixture teardown or, as a
safety net, after 120 s.
"""
import csv
import hashlib
import io
import os
import pickle
import re
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        path = self.path.split('?', 1)[0]
        with srv.lock:
            srv.requests.append(dict(path=path, headers=dict(self.headers)))
            data = srv.files.get(path)
            flags = srv.flags.get(path, set())
            cut = 'cut_once' in flags and path not in srv.cut_done
            if cut:
                srv.cut_done.add(path)
        if data is None:
            body = b'not found'
            self.send_response(404)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        modified = srv.modified.get(path)
        validators = []
        if 'etag' in flags:
            validators.append(('ETag', etag))
        if 'last_modified' in flags:
            validators.append(('Last-Modified', modified))
        if ('etag' in flags and self.headers.get('If-None-Match') == etag) \
                or ('etag' not in flags and 'last_modified' in flags and
                    self.headers.get('If-Modified-Since') == modified):
            with srv.lock:
                srv.requests[-1]['status'] = 304
            self.send_response(304)
            for k, v in validators:
                self.send_header(k, v)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        start = 0
        rng = self.headers.get('Range')
        if rng and 'ignore_range' not in flags:
            m = re.fullmatch(r'bytes=(\d+)-', rng.strip())
            start = int(m.group(1)) if m else 0
            if start >= len(data):
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{len(data)}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(206)
            self.send_header('Content-Range',
                             f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
        body = data[start:]
        for k, v in validators:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Content-Type', 'application/octet-stream')
        self.end_headers()
        with srv.lock:
            srv.requests[-1]['status'] = 206 if start else 200
        if cut:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)


class LocalServer:
    """Handle returned by the ``http_server`` fixture."""

    def __init__(self):
        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.lock = threading.Lock()
        self.httpd.files = {}
        self.httpd.flags = {}
        self.httpd.modified = {}
        self.httpd.versions = {}
        self.httpd.cut_done = set()
        self.httpd.requests = []
        self.base = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs=dict(poll_interval=0.05),
            daemon=True)
        self._watchdog = threading.Timer(120.0, self.httpd.shutdown)
        self._watchdog.daemon = True

    def start(self):
        self._thread.start()
        self._watchdog.start()
        return self

    def stop(self):
        self._watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def serve(self, path, data, *flags):
        """Serve ``data`` (bytes) at ``path``; returns the full URL."""
        self.httpd.files[path] = bytes(data)
        self.httpd.flags[path] = set(flags)
        # each version of a file has its own Last-Modified date
        self.httpd.versions[path] = self.httpd.versions.get(path, 0) + 1
        self.httpd.modified[path] = (
            f'Mon, {self.httpd.versions[path]:02d} Dec 2025 10:00:00 GMT')
        return self.base + path

    @property
    def requests(self):
        with self.httpd.lock:
            return list(self.httpd.requests)

    def requests_for(self, path):
        return [r for r in self.requests if r['path'] == path]


# ---------------------------------------------------------------------------
# a tiny dataset in the benchmark layout

TINY_CLASSES = ['Archery', 'Basketball', 'Biking', 'Diving', 'Fencing']
TINY_SPLITS = {
    'stage_1_train': ['Archery', 'Basketball'],
    'stage_1_val_seen': ['Archery', 'Basketball'],
    'stage_1_val_unseen': ['Biking'],
    'stage_2_train': ['Archery', 'Basketball', 'Biking'],
    'stage_2_test_seen': ['Archery', 'Basketball', 'Biking'],
    'stage_2_test_unseen': ['Diving'],
}
TINY_FEATURE_SPLITS = ('stage_1_train', 'stage_1_val_seen',
                       'stage_1_val_unseen', 'stage_2_test_seen',
                       'stage_2_test_unseen')
TINY_W2V = {'Archery': 'Archery', 'Basketball': 'Basketball Shooting',
            'Biking': 'Biking', 'Diving': 'Diving', 'Fencing': 'Fencing'}
TINY_WIDTHS = dict(audio=8, video=16, text=6)
TINY_METHOD = 'cls_features_non_averaged'


def tiny_layout_files(skip=(), method=TINY_METHOD, seed=0):
    """``{relative path: bytes}`` of a tiny UCF dataset root.

    Each class file holds 2 clips with 3-6 steps; audio width 8, video 16,
    text 6. ``skip``: relative paths to leave out.
    """
    rng = np.random.default_rng(seed)
    files = {}
    files['class-split/all_class.txt'] = \
        ('\n'.join(TINY_CLASSES) + '\n').encode()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(['original', 'manual'])
    for k, v in TINY_W2V.items():
        w.writerow([k, v])
    files['class-split/ucf_w2v_class_names.csv'] = buf.getvalue().encode()
    for kind in ('main_split', 'cls_split'):
        for split, names in TINY_SPLITS.items():
            files[f'class-split/{kind}/{split}.txt'] = \
                ('\n'.join(names) + '\n').encode()
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator='\n')
            w.writerow(['filename', 'label', 'label_code'])
            for name in names:
                for j in range(2):
                    w.writerow([f'v_{name}_g01_c0{j}', name,
                                TINY_CLASSES.index(name)])
            files[f'class-split/{kind}/{split}.csv'] = \
                buf.getvalue().encode()
    for split in TINY_FEATURE_SPLITS:
        for name in TINY_SPLITS[split]:
            clips = [f'v_{name}_g01_c0{j}' for j in range(2)]
            for modality in ('audio', 'video'):
                feats = [rng.standard_normal(
                    (int(rng.integers(3, 7)), TINY_WIDTHS[modality])
                ).astype(np.float32) for _ in clips]
                obj = dict(features=feats, video_names=clips,
                           fps=[1.0 for _ in clips])
                files[f'features/{method}/{modality}/{split}/{name}.pkl'] = \
                    pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    table = {}
    for manual in TINY_W2V.values():
        v = rng.standard_normal(TINY_WIDTHS['text'])
        table[manual] = (v / np.linalg.norm(v)).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, table, allow_pickle=True)
    files[f'features/{method}/text/word_embeddings_ucf_normed.npy'] = \
        buf.getvalue()
    for rel in skip:
        files.pop(rel)
    return files


def write_tree(root, files):
    for rel, data in files.items():
        path = os.path.join(root, *rel.split('/'))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
    return root


def make_zip(files, prefix='UCF/', extra=()):
    """Zip bytes holding ``files`` under ``prefix``; ``extra``: raw
    ``(member name, bytes)`` pairs added first (e.g. ``../evil``)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
        for name, data in extra:
            zf.writestr(name, data)
        for rel, data in files.items():
            zf.writestr(prefix + rel, data)
    return buf.getvalue()
