"""SHA-256 helpers for downloaded checkpoints and archives."""
import hashlib
import os

__all__ = ['sha256_file', 'normalize_sha256', 'state_dict_sha256']

_CHUNK = 1 << 20  # 1 MiB


def sha256_file(path, chunk_size=_CHUNK, hasher=None):
    """Hex SHA-256 digest of a file, read in chunks.

    Args:
        path (str | os.PathLike): file to hash.
        chunk_size (int): bytes read per step (default 1 MiB).
        hasher: an existing ``hashlib.sha256()`` object to update instead of
            a fresh one (used to continue hashing a resumed download).

    Returns:
        str: 64 lower-case hex digits.

    Raises:
        OSError: the file cannot be opened or read.
    """
    h = hashlib.sha256() if hasher is None else hasher
    with open(os.fspath(path), 'rb') as f:
        while True:
            block = f.read(chunk_size)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def normalize_sha256(value):
    """Validate and lower-case a SHA-256 hex string (``None`` passes).

    Accepts an optional ``sha256:`` prefix.

    Args:
        value (str | None): the digest.

    Returns:
        str | None: 64 lower-case hex digits, or ``None``.

    Raises:
        ValueError: not 64 hex digits.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if text.startswith('sha256:'):
        text = text[len('sha256:'):]
    if len(text) != 64 or any(c not in '0123456789abcdef' for c in text):
        raise ValueError(
            f'not a SHA-256 hex digest (64 hex digits): {value!r}')
    return text


def state_dict_sha256(state_dict):
    """SHA-256 over the names, dtypes, shapes and bytes of a state dict's
    tensors (sorted by name): equal for equal weights, unlike the digest of
    a checkpoint file, whose meta holds the save time.

    Args:
        state_dict (Mapping[str, torch.Tensor]): e.g. ``model.state_dict()``.

    Returns:
        str: 64 lower-case hex digits.
    """
    import torch
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous().view(-1)
        h.update(f'{name}|{t.dtype}|{tuple(state_dict[name].shape)}|'
                 .encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
