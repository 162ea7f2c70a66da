"""Shared helpers of the peer checkpoint converters."""
import os
import os.path as osp
import tempfile
from typing import Dict, Iterable, Mapping, Optional

import torch

__all__ = ['PeerCheckpointError', 'unwrap_peer_state', 'take',
           'save_stftbox_checkpoint', 'load_peer_checkpoint']


class PeerCheckpointError(ValueError):
    """A peer checkpoint cannot be converted: not a state dict, a key is
    missing or unexpected, or shapes do not fit together."""


def unwrap_peer_state(obj, source: str = 'checkpoint'
                      ) -> Dict[str, torch.Tensor]:
    """The peer ``state_dict`` inside ``obj``.

    Accepts a bare state dict or one wrapped as the peers save them
    (``{'model': ..., 'optimizer': ..., 'epoch': ...}``), as mmengine does
    (``'state_dict'``), or as the reference fixtures do (``'state_dict'``
    plus ``'hparams'``); strips a ``module.`` (DataParallel) prefix.

    Raises:
        PeerCheckpointError: no tensor dict found.
    """
    state = obj
    if isinstance(obj, Mapping):
        for key in ('model', 'state_dict', 'model_state_dict'):
            if key in obj and isinstance(obj[key], Mapping):
                state = obj[key]
                break
    if not isinstance(state, Mapping) or not state or not all(
            isinstance(k, str) and torch.is_tensor(v)
            for k, v in state.items()):
        keys = list(obj)[:8] if isinstance(obj, Mapping) else type(obj)
        raise PeerCheckpointError(
            f'{source}: expected a state dict of tensors (optionally under '
            f"'model' or 'state_dict'), found {keys}")
    return {(k[len('module.'):] if k.startswith('module.') else k): v
            for k, v in state.items()}


def take(state: Dict[str, torch.Tensor], key: str,
         source: str = 'checkpoint') -> torch.Tensor:
    """``state.pop(key)`` with a clear error when the key is missing."""
    if key not in state:
        raise PeerCheckpointError(f'{source}: missing key {key!r}')
    return state.pop(key)


def need(state: Dict[str, torch.Tensor], key: str,
         source: str = 'checkpoint') -> torch.Tensor:
    """``state[key]`` with a clear error when the key is missing."""
    if key not in state:
        raise PeerCheckpointError(f'{source}: missing key {key!r}')
    return state[key]


def move_prefix(state: Dict[str, torch.Tensor], old: str, new: str,
                out: Dict[str, torch.Tensor]) -> int:
    """Move every ``old<rest>`` key of ``state`` to ``out[new<rest>]``;
    returns how many moved."""
    keys = [k for k in state if k.startswith(old)]
    for k in keys:
        out[new + k[len(old):]] = state.pop(k)
    return len(keys)


def check_consumed(state: Iterable[str], source: str) -> None:
    """Raise if keys are left over (an unsupported model variant)."""
    left = sorted(state)
    if left:
        raise PeerCheckpointError(
            f'{source}: {len(left)} keys are not part of the supported '
            f'architecture (another model variant?): {left[:6]}')


def load_peer_checkpoint(path: str):
    """``torch.load(path, weights_only=True)`` with a clear error."""
    if not osp.isfile(path):
        raise PeerCheckpointError(f'{path}: no such file')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # unpickling / zip errors of many kinds
        raise PeerCheckpointError(
            f'{path}: cannot be read as a weights-only torch checkpoint '
            f'({type(err).__name__}: {err})') from err


def save_stftbox_checkpoint(state_dict: Dict[str, torch.Tensor],
                            meta: dict, path: str) -> None:
    """Write ``{'state_dict': ..., 'meta': ...}`` atomically (temp file in
    the same folder, then rename), so a failed write leaves no partial
    file."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    os.close(fd)
    try:
        torch.save(dict(state_dict=state_dict, meta=meta), tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def shape(t: torch.Tensor, dims: int, key: str,
          source: str) -> torch.Size:
    """``t.shape`` after checking its rank."""
    if t.dim() != dims:
        raise PeerCheckpointError(f'{source}: {key} has shape '
                                  f'{tuple(t.shape)}, expected {dims} dims')
    return t.shape


def width(state: Dict[str, torch.Tensor], key: str, dim: int,
          source: str) -> int:
    """Size ``dim`` of the 2-D tensor ``state[key]`` (a Linear weight)."""
    return int(shape(need(state, key, source), 2, key, source)[dim])


def bn_mlp_width(state: Dict[str, torch.Tensor], prefix: str,
                 source: str) -> Optional[int]:
    """Hidden width of a peer embedding net ``prefix.fc.*`` (None when it
    has one stage)."""
    w0 = state.get(prefix + 'fc.0.weight')
    if w0 is None:
        raise PeerCheckpointError(f'{source}: missing key '
                                  f"'{prefix}fc.0.weight'")
    return w0.shape[0] if prefix + 'fc.4.weight' in state else None
