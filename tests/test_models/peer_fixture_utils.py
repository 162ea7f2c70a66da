"""Helpers of the peer-reference tests (tests/test_models/test_peer_*.py):
load the fixtures, build our model from a fixture, compare per-parameter
statistics in the peer's key layout."""
import glob
import math
import os
import os.path as osp
from typing import Callable, Dict, List

import pytest
import torch
import torch.nn as nn

#: fixture folder: env STFTBOX_PEER_FIXTURES, else tests/data/peer_fixtures
FIXTURES = os.environ.get('STFTBOX_PEER_FIXTURES') or osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'peer_fixtures')
#: tolerances of issue 9: outputs (absolute), delta norms (relative)
ATOL = 1e-5
RTOL_NORMS = 1e-4


def fixture_names(peer: str) -> List[str]:
    """Every ``<peer>_*.pt`` in the fixture folder (sorted); the tests run
    once per file, so any fixture of the same format is verified. Fails
    when there is none (a missing reference must not pass silently)."""
    names = sorted(osp.basename(p)
                   for p in glob.glob(osp.join(FIXTURES, f'{peer}_*.pt')))
    return names or [f'{peer}_a.pt']


def load_fixture(name: str) -> dict:
    path = osp.join(FIXTURES, name)
    if not osp.isfile(path):
        pytest.fail(f'peer fixture {path} is missing (tests/data/'
                    'peer_fixtures/ holds copies of the reference data; '
                    'STFTBOX_PEER_FIXTURES names another folder)')
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


def key_map(peer_state: Dict[str, torch.Tensor],
            convert: Callable) -> Dict[str, str]:
    """Our state-dict key -> the peer's key of the same tensor (through the
    real converter; aliases of one tensor map to the first name)."""
    ours = convert({k: torch.full(v.shape, float(i), dtype=torch.float64)
                    for i, (k, v) in enumerate(peer_state.items())})
    names = list(peer_state)
    return {k: names[int(v.reshape(-1)[0])] if v.numel() else None
            for k, v in ours.items()}


def run_train_step(model: nn.Module, ts: dict, inputs: dict,
                   samples: dict, not_optimised: set) -> tuple:
    """One training step as the fixtures' ``train_step``: dropout off,
    BatchNorm on batch statistics, every parameter gets a gradient (as in
    the peer), Adam (weight decay in the gradient) over the parameters
    whose names are not in ``not_optimised``, then the train loop's
    train-mode embedding pass.

    Returns:
        tuple: ``(losses, grads, before, delta, loop)`` keyed by our names
        (``delta`` / ``loop``: float64 state changes after the step / after
        also the embedding pass).
    """
    dropout_off(model)
    for p in model.parameters():
        p.requires_grad_(True)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt_cfg = ts['optimizer']
    params = [p for k, p in model.named_parameters()
              if k not in not_optimised]
    opt = torch.optim.Adam(params, lr=opt_cfg['lr'],
                           betas=tuple(opt_cfg['betas']),
                           eps=opt_cfg['eps'],
                           weight_decay=opt_cfg['weight_decay'])
    losses = model(inputs, samples, mode='loss')
    opt.zero_grad()
    sum(losses.values()).backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()
             if p.grad is not None}
    opt.step()
    after = model.state_dict()
    delta = {k: after[k].double() - before[k].double() for k in after}
    model.train_mode_embedding_pass(inputs, samples)
    final = model.state_dict()
    loop = {k: final[k].double() - before[k].double() for k in final}
    return losses, grads, before, delta, loop


def check_train_step(ts: dict, peer_state: dict, convert: Callable,
                     run: Callable, momentum_of: Callable) -> dict:
    """Compare a training step with the fixture's ``train_step``:
    per-parameter gradient norms and delta norms/sums, buffer deltas after
    the step and after the train-loop embedding pass.

    ``run(dtype)`` returns :func:`run_train_step`'s tuple. Parameters with
    zero loss gradient (a bias right before a train-mode BatchNorm: float64
    gradient norm < 1e-10, rounding noise in float32) are checked against
    the weight-decay-only Adam step instead (docs/baselines.md). Every key
    of the fixture is checked; returns the largest relative differences
    per group and the counts.
    """
    lr = ts['optimizer']['lr']
    wd = ts['optimizer']['weight_decay']
    frozen = set(ts['optimizer']['params_not_optimized'])
    _, grads64, before64, delta64, _ = run(torch.float64)
    _, grads, _, delta, loop = run(torch.float32)
    ours = peer_view(delta, peer_state, convert)
    g32 = peer_view(grads, peer_state, convert)
    g64 = peer_view(grads64, peer_state, convert)
    p64 = peer_view(before64, peer_state, convert)
    d64 = peer_view(delta64, peer_state, convert)
    zero_grad = {k for k, g in g64.items() if g.norm() < 1e-10}
    worst = dict(grad=0., delta=0., buffer=0., buffer_loop=0.)

    def rel(a, b):
        return abs(a - b) / max(abs(b), 1e-12)

    counts = dict(frozen=0, zero_grad=0, checked=0)
    for key, ref in ts['param_delta_norms'].items():
        if key in frozen:
            assert ours[key].abs().max() == 0 and ref == 0, key
            counts['frozen'] += 1
        elif key in zero_grad:
            n = p64[key].numel()
            assert ours[key].norm().item() <= lr * math.sqrt(n) * 1.001
            assert ref <= lr * math.sqrt(n) * 1.001
            g = wd * p64[key]
            step = -lr * g / (g.abs() + 1e-8)
            # where the weight-decay gradient is itself at the noise level
            # (a parameter initialised at 0) only the bound holds
            sure = g.abs() > 1e-9
            assert torch.allclose(d64[key][sure], step[sure], rtol=1e-4,
                                  atol=1e-12), key
            counts['zero_grad'] += 1
        else:
            # Adam's first step is ~lr * sign(g); elements with |g| near
            # its eps (1e-8) are sensitive: the tolerance is 1e-4, or twice
            # what float32 rounding moves our own value where that is larger
            got = ours[key].norm().item()
            tol = min(1e-2, max(RTOL_NORMS, 2 * rel(
                got, d64[key].norm().item())))
            assert_close_rel(got, ref, f'delta {key}', rtol=tol)
            # a first Adam step is about -lr * sign(g): an element whose
            # gradient is ~0 may flip, moving the sum by 2 lr
            n = ours[key].numel()
            assert_close_rel(ours[key].sum().item(),
                             ts['param_delta_sums'][key], f'sum {key}',
                             rtol=1e-3, atol=2 * lr * (2 + 1e-5 * n))
            worst['delta'] = max(worst['delta'], rel(got, ref))
            counts['checked'] += 1
    assert sum(counts.values()) == len(ts['param_delta_norms'])
    assert set(ts['grad_norms']) == set(ts['param_delta_norms'])
    for key, ref in ts['grad_norms'].items():
        if key in zero_grad:
            continue
        # gradients behind a train-mode BatchNorm over a few near-equal rows
        # are ill-conditioned (ClipClap's per-clip texts: 4 rows, 2 distinct)
        # and the peer's values are float32: the tolerance is 1e-3, or twice
        # what float32 rounding alone moves our own value (float32 vs
        # float64) where that is larger, at most 1e-2
        got, got64 = g32[key].norm().item(), g64[key].norm().item()
        tol = min(1e-2, max(1e-3, 2 * rel(got, got64)))
        assert rel(got64, ref) <= tol, f'grad {key}: {got64} vs {ref}'
        worst['grad'] = max(worst['grad'], rel(got64, ref))
    for key, ref in ts['buffer_delta_norms'].items():
        got = ours[key].norm().item()
        assert_close_rel(got, ref, f'buffer {key}')
        worst['buffer'] = max(worst['buffer'], rel(got, ref))
    looped = peer_view(loop, peer_state, convert)
    for key, ref in ts['buffer_delta_norms_after_trainloop_get_embeddings'
                       ].items():
        got = looped[key].norm().item()
        parts = key.rsplit('.', 2)
        bias = (f'{parts[0]}.{int(parts[1]) - 1}.bias'
                if key.endswith('running_mean') else None)
        if bias in zero_grad:  # carries that bias's noisy step
            bound = momentum_of(key) * 2 * lr * math.sqrt(
                p64[bias].numel())
            assert abs(got - ref) <= bound, (key, got, ref)
        else:
            assert_close_rel(got, ref, f'buffer after train-mode pass {key}')
            worst['buffer_loop'] = max(worst['buffer_loop'], rel(got, ref))
    return dict(worst, **counts)
