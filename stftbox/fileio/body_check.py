"""Checks of a downloaded body before it gets its final name.

:func:`stftbox.fileio.download` calls :func:`check_body` on the finished
``.part`` file; a body that fails is removed and the error names the URL and
what came back (content type, size, first bytes, "XML error body", ...).
Kinds:

* ``'zip'``: zip local-header magic ``PK\\x03\\x04`` (or the empty-archive
  ``PK\\x05\\x06``) and a readable central directory (``zipfile``);
* ``'checkpoint'``: a ``torch.save`` file (zip container with ``data.pkl``
  or the legacy pickle magic), see
  :func:`stftbox.fileio.safe_load.check_checkpoint_file`;
* ``None``: no format check (size and SHA-256 are still checked by the
  caller when known).
"""
import os
import zipfile

__all__ = ['BodyError', 'BODY_KINDS', 'describe_body', 'check_body']

BODY_KINDS = ('zip', 'checkpoint')


class BodyError(ValueError):
    """A downloaded body is not what was asked for (wrong format/size)."""


def describe_body(path, content_type=None):
    """A short description of what a server sent, for error messages.

    Args:
        path (str): the received file.
        content_type (str, optional): the response's ``Content-Type``.

    Returns:
        str: e.g. ``"an XML error body (content-type application/xml, 120
        bytes, first bytes b'<?xml version=...')"``.
    """
    try:
        size = os.path.getsize(path)
        with open(path, 'rb') as f:
            head = f.read(160)
    except OSError as exc:
        return f'an unreadable body ({exc})'
    text = head.lstrip().lower()
    if size == 0:
        what = 'an empty body'
    elif text.startswith(b'<?xml') or text.startswith(b'<error'):
        what = 'an XML error body'
    elif text.startswith((b'<!doctype html', b'<html')) or \
            text.startswith(b'<'):
        what = 'an HTML page (error or login page?)'
    elif text.startswith((b'{', b'[')):
        what = 'a JSON body (an API error?)'
    else:
        what = 'an unexpected body'
    details = [f'content-type {content_type}'] if content_type else []
    details.append(f'{size} bytes')
    if size and what != 'an unexpected body':  # text: show its start
        text = ' '.join(head.decode('utf-8', 'replace').split())
        details.append(f'starting {text[:120]!r}')
    else:
        details.append(f'first bytes {head[:32]!r}')
    return f"{what} ({', '.join(details)})"


def _check_zip(path):
    with open(path, 'rb') as f:
        magic = f.read(4)
    if magic not in (b'PK\x03\x04', b'PK\x05\x06'):
        raise BodyError('not a zip archive (no PK magic)')
    try:
        with zipfile.ZipFile(path) as zf:
            zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise BodyError(f'a truncated or corrupt zip archive (central '
                        f'directory unreadable: {exc})') from None


def _check_checkpoint(path):
    from .safe_load import CheckpointError, check_checkpoint_file
    try:
        check_checkpoint_file(path)
    except CheckpointError as exc:
        text = str(exc)
        if text.startswith(f'{path}: '):
            text = text[len(path) + 2:]
        raise BodyError(text) from None


def check_body(path, kind=None, size=None):
    """Raise :class:`BodyError` unless ``path`` is a complete ``kind`` file.

    Args:
        path (str): the received file (a ``.part`` not yet renamed).
        kind (str | callable | None): ``'zip'``, ``'checkpoint'``, ``None``
            (no format check) or a function ``f(path)`` raising
            ``BodyError`` / ``ValueError`` for a bad body.
        size (int, optional): expected size in bytes.

    Raises:
        BodyError: wrong size or format (the message says which).
        ValueError: unknown ``kind``.
    """
    if size is not None and os.path.getsize(path) != int(size):
        raise BodyError(f'expected {int(size)} bytes, got '
                        f'{os.path.getsize(path)}')
    if kind is None:
        return
    if callable(kind):
        try:
            kind(path)
        except BodyError:
            raise
        except ValueError as exc:
            raise BodyError(str(exc)) from None
        return
    if kind == 'zip':
        _check_zip(path)
    elif kind == 'checkpoint':
        _check_checkpoint(path)
    else:
        raise ValueError(f'unknown body kind {kind!r}; expected one of '
                         f'{BODY_KINDS}, None or a callable')
