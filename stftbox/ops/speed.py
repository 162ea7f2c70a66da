"""Neuron speed check: the dynamic-threshold LIF against spikingjelly's
``LIFNode`` (issue: forward + backward within 1.5x of ``LIFNode``).

Entry points for ``tools/analysis_tools/benchmark.py --neuron``:
:func:`build_neuron_pair` builds both neurons, :func:`time_neuron_pair`
times them interleaved. Timing is a benchmark, never a test.
"""
import statistics
import time
from typing import Dict, Optional, Sequence

import torch
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

from stftbox.models.neurons.dynamic_threshold_lif import DynamicThresholdLIF

__all__ = ['build_neuron_pair', 'time_neuron_pair']

#: the shape of the issue's check: ``[T, B, L, C]``
DEFAULT_SHAPE = (10, 16, 120, 512)


def build_neuron_pair(**dynamic_kwargs) -> Dict[str, torch.nn.Module]:
    """Both neurons with the same LIF settings (tau 2, V_th 1, hard reset
    to 0, ATan alpha 2, multi-step).

    Args:
        **dynamic_kwargs: extra :class:`DynamicThresholdLIF` arguments
            (e.g. ``entropy_source='input'``).

    Returns:
        dict: ``{'LIFNode': spikingjelly neuron.LIFNode,
        'DynamicThresholdLIF': ours}``.
    """
    return {
        'LIFNode': sj_neuron.LIFNode(
            tau=2.0, v_threshold=1.0, v_reset=0.0, step_mode='m',
            surrogate_function=sj_surrogate.ATan(alpha=2.0)),
        'DynamicThresholdLIF': DynamicThresholdLIF(**dynamic_kwargs),
    }


def _fwd_bwd_seconds(neuron, x, ctx) -> tuple:
    """``(wall, cpu)`` seconds of one forward + backward."""
    x = x.detach().clone().requires_grad_()
    sj_functional.reset_net(neuron)
    start, cpu = time.perf_counter(), time.process_time()
    if ctx is not None and getattr(neuron, 'uses_context', False):
        out = neuron(x, context=ctx)
    else:
        out = neuron(x)
    out.sum().backward()
    return time.perf_counter() - start, time.process_time() - cpu


def time_neuron_pair(shape: Sequence[int] = DEFAULT_SHAPE, repeats: int = 7,
                     warmup: int = 1, with_context: bool = True,
                     threads: Optional[int] = None, seed: int = 0,
                     **dynamic_kwargs) -> dict:
    """Median forward + backward seconds of both neurons, interleaved.

    Args:
        shape: input ``[T, B, ..., C]``. Default ``[10, 16, 120, 512]``.
        repeats (int): timed runs per neuron (median reported).
        warmup (int): untimed runs per neuron first.
        with_context (bool): give the dynamic neuron a GLP context of the
            input's shape (as in a spiking block).
        threads (int | None): ``torch.set_num_threads`` for the run.
        seed (int): input seed; input ``N(0, 1.5^2)``, context ``N(0, 1)``.
        **dynamic_kwargs: :class:`DynamicThresholdLIF` arguments.

    Returns:
        dict: ``{name: {'median_s', 'runs_s', 'median_cpu_s'}}`` per neuron
        (wall-clock and process CPU seconds, the latter less sensitive to
        other load on the machine), ``'ratio'`` = median(ours) /
        median(LIFNode) of wall time and ``'cpu_ratio'`` of CPU time.
    """
    if threads is not None:
        torch.set_num_threads(int(threads))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g) * 1.5
    ctx = torch.randn(*shape, generator=g) if with_context else None
    pair = build_neuron_pair(**dynamic_kwargs)
    runs = {name: [] for name in pair}
    for i in range(warmup + repeats):
        for name, neuron in pair.items():
            sec = _fwd_bwd_seconds(neuron, x, ctx)
            if i >= warmup:
                runs[name].append(sec)
    out = {name: dict(median_s=statistics.median(w for w, _ in r),
                      runs_s=[w for w, _ in r],
                      median_cpu_s=statistics.median(c for _, c in r))
           for name, r in runs.items()}
    ours, ref = out['DynamicThresholdLIF'], out['LIFNode']
    out['ratio'] = ours['median_s'] / ref['median_s']
    out['cpu_ratio'] = ours['median_cpu_s'] / ref['median_cpu_s']
    return out
