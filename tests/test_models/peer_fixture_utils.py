"""Helpers of the peer-reference tests (tests/test_models/test_peer_*.py):
load the fixtures, build our model from a fixture, compare per-parameter
statistics in the peer's key layout."""
import math
import os.path as osp
from typing import Callable, Dict

import pytest
import torch
import torch.nn as nn

FIXTURES = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
                    'peer_fixtures')
#: tolerances of issue 9: outputs (absolute), delta norms (relative)
ATOL = 1e-5
RTOL_NORMS = 1e-4


def load_fixture(name: str) -> dict:
    path = osp.join(FIXTURES, name)
    if not osp.isfile(path):
        pytest.fail(f'peer fixture {path} is missing (tests/data/'
                    'peer_fixtures/ holds copies of the reference data)')
    return torch.load(path, map_location='cpu', weights_only=True)


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.


def peer_view(ours: Dict[str, torch.Tensor], peer_state: Dict[str,
              torch.Tensor], convert: Callable) -> Dict[str, torch.Tensor]:
    """Re-arrange tensors keyed and shaped like our state dict into the
    peer's keys and shapes.

    Every element of the peer state is tagged with a unique id, the tagged
    state is converted with ``convert`` (the real converter), and each of
    our elements is sent back to the position its id came from. Only keys
    present in ``ours`` are returned (aliases of one tensor get it twice).
    """
    tagged, offset, shared = {}, 0, {}
    for key, t in peer_state.items():
        n = t.numel()
        alias = (t.data_ptr(), tuple(t.shape), t.stride()) if n else None
        if alias in shared:  # one module registered under two names
            tagged[key] = shared[alias]
            continue
        tagged[key] = (torch.arange(n, dtype=torch.float64) +
                       offset).view(t.shape)
        shared[alias] = tagged[key]
        offset += n
    flat = torch.full((offset,), math.nan, dtype=torch.float64)
    have = torch.zeros(offset, dtype=torch.bool)
    for key, ids in convert(dict(tagged)).items():
        if key in ours:
            idx = ids.reshape(-1).long()
            flat[idx] = ours[key].reshape(-1).double()
            have[idx] = True
    out = {}
    for key, ids in tagged.items():
        idx = ids.reshape(-1).long()
        if idx.numel() and have[idx].all():
            out[key] = flat[idx].view(ids.shape)
    return out


def dropout_off(model: nn.Module) -> None:
    """Train mode with every ``nn.Dropout`` in eval (the fixtures' train
    step: BatchNorm on batch statistics, no dropout)."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()


def assert_close_rel(ours: float, ref: float, what: str,
                     rtol: float = RTOL_NORMS, atol: float = 1e-9) -> None:
    assert abs(ours - ref) <= atol + rtol * abs(ref), \
        f'{what}: ours {ours!r} vs peer {ref!r}'
