"""Export the SNN branch of a model to NIR (Neuromorphic Intermediate
Representation, https://neuroir.org), with spikingjelly's ``nir_exchange``.

NIR has primitives for affine / linear maps, convolutions and
integrate-and-fire style neurons (IF, LIF, CubaLIF) with a static
threshold and a hard reset. An SNN branch whose blocks use only those
(:func:`nir_blockers` is empty) becomes one chain per token::

    input [C] -> Affine -> LIF | IF -> Affine -> LIF | IF -> ... -> output [D]

run for ``T`` steps with the same input at every step (the branch's direct
encoding). The readout after the last block (mean over the tokens, then the
time-step factor) and every part outside the SNN branch (encoders,
attention, fusion, head) are not in the graph: the host computes them.

Sources: SNN branch as in docs/method.md; NIR primitives as in ``nir``
1.0; spikingjelly ``activation_based.nir_exchange.export_to_nir`` /
``import_from_nir``.
"""
import copy
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from spikingjelly.activation_based import neuron as sj_neuron

__all__ = ['NIRExportError', 'find_snn_branch', 'nir_blockers',
           'snn_branch_to_spikingjelly', 'snn_branch_to_nir',
           'parts_outside_the_graph']


class NIRExportError(ValueError):
    """The model has no (single) SNN branch, or its SNN branch uses parts
    that NIR cannot express; the message is one line naming them."""


def find_snn_branch(model: nn.Module) -> Tuple[str, nn.Module]:
    """The one :class:`~stftbox.models.backbones.SNNBranch` of ``model``.

    Returns:
        tuple: ``(qualified name, module)`` (name ``''`` when ``model`` is
        the branch).

    Raises:
        NIRExportError: none, or more than one.
    """
    from stftbox.models.backbones import SNNBranch
    found = [(n, m) for n, m in model.named_modules()
             if isinstance(m, SNNBranch)]
    if len(found) != 1:
        raise NIRExportError(
            f'{type(model).__name__} has {len(found)} SNN branches '
            f'({", ".join(n for n, _ in found) or "none"}); export_nir '
            'exports a model with exactly one SNNBranch')
    return found[0]


def _plain_neuron_type(neuron: nn.Module):
    """spikingjelly class NIR maps, or None."""
    from stftbox.models.neurons import IFNode, LIFNode, ParametricLIFNode
    for ours, theirs in ((LIFNode, sj_neuron.LIFNode),
                         (IFNode, sj_neuron.IFNode),
                         (ParametricLIFNode, sj_neuron.ParametricLIFNode)):
        if type(neuron) in (ours, theirs):
            return theirs
    return None


def _block_blockers(block: nn.Module) -> List[str]:
    from stftbox.models.neurons import DynamicThresholdLIF
    from stftbox.models.poolings import GlobalLocalPooling
    out = []
    neuron = block.neuron
    if isinstance(neuron, DynamicThresholdLIF):
        out.append('dynamic threshold (DynamicThresholdLIF)')
    elif _plain_neuron_type(neuron) is None:
        out.append(f'neuron {type(neuron).__name__}')
    elif getattr(neuron, 'v_reset', 0.0) is None:
        out.append(f'soft reset ({type(neuron).__name__} v_reset=None)')
    if block.pooling is not None:
        out.append('GLP (GlobalLocalPooling)'
                   if isinstance(block.pooling, GlobalLocalPooling) else
                   f'pooling ({type(block.pooling).__name__})')
    if isinstance(block.norm, nn.LayerNorm):
        out.append('LayerNorm')
    if block.kernel_size > 1:
        out.append(f'Conv1d kernel {block.kernel_size} along the tokens')
    return out


def nir_blockers(branch: nn.Module) -> List[str]:
    """Parts of an SNN branch that have no NIR primitive.

    Supported per block: a linear layer or a pointwise (kernel 1) Conv1d,
    no norm or a BatchNorm (folded into the linear layer, eval statistics),
    dropout (identity at inference), no pooling, and a registered
    ``LIFNode`` / ``IFNode`` / ``ParametricLIFNode`` (or spikingjelly's) with
    a hard reset.

    Args:
        branch (SNNBranch): the branch.

    Returns:
        list[str]: one entry per kind of part, in block order, with the
        blocks that have it, e.g. ``'dynamic threshold
        (DynamicThresholdLIF) in blocks 0, 1'``; empty when exportable.
    """
    where: Dict[str, List[int]] = {}
    for i, block in enumerate(branch.blocks):
        for what in _block_blockers(block):
            where.setdefault(what, []).append(i)
    return [f'{what} in block{"s" if len(ids) > 1 else ""} '
            f'{", ".join(map(str, ids))}' for what, ids in where.items()]


def parts_outside_the_graph(model: nn.Module, branch_name: str) -> List[str]:
    """Modules beside the SNN branch that hold parameters or compute the
    output (never exported), e.g. ``['backbone.transformer_branch
    (TransformerBranch: attention)', 'backbone.fusion (MultiScaleFusion:
    Tucker)', 'head (GZSLHead)']``."""
    if not branch_name:
        return []
    parent_name = branch_name.rsplit('.', 1)[0] if '.' in branch_name else ''
    parts = []
    scopes = [('', model)] if not parent_name else [
        ('', model), (parent_name, model.get_submodule(parent_name))]
    for scope, mod in scopes:
        for name, child in mod.named_children():
            full = f'{scope}.{name}' if scope else name
            if full == branch_name or full == parent_name or \
                    not any(True for _ in child.parameters()):
                continue
            kinds = {type(m).__name__ for m in child.modules()}
            tags = [tag for tag, names in (
                ('attention', ('MultiheadAttention', 'Attention')),
                ('Tucker', ('TuckerFusion', ))) if kinds & set(names)]
            parts.append(f'{full} ({type(child).__name__}'
                         f'{": " + ", ".join(tags) if tags else ""})')
    return parts


def _folded_linear(block: nn.Module) -> nn.Linear:
    """The block's projection (and BatchNorm in eval) as one ``nn.Linear``
    on a token's features."""
    proj = block.proj
    weight = proj.weight.detach()
    if weight.dim() == 3:            # pointwise Conv1d [D, C, 1]
        weight = weight[..., 0]
    bias = proj.bias.detach() if proj.bias is not None else \
        torch.zeros(weight.shape[0], dtype=weight.dtype)
    norm = block.norm
    if isinstance(norm, nn.modules.batchnorm._BatchNorm):
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.affine:
            scale = scale * norm.weight.detach()
        shift = -norm.running_mean * scale
        if norm.affine:
            shift = shift + norm.bias.detach()
        weight = weight * scale[:, None]
        bias = bias * scale + shift
    linear = nn.Linear(weight.shape[1], weight.shape[0])
    linear.weight.data.copy_(weight)
    linear.bias.data.copy_(bias)
    return linear


def _plain_neuron(neuron: nn.Module) -> nn.Module:
    cls = _plain_neuron_type(neuron)
    common = dict(v_threshold=float(neuron.v_threshold),
                  v_reset=float(neuron.v_reset), step_mode='s')
    if cls is sj_neuron.IFNode:
        return sj_neuron.IFNode(**common)
    if cls is sj_neuron.LIFNode:
        return sj_neuron.LIFNode(tau=float(neuron.tau),
                                 decay_input=neuron.decay_input, **common)
    plif = sj_neuron.ParametricLIFNode(decay_input=neuron.decay_input,
                                       **common)
    plif.w.data.copy_(neuron.w.detach())
    return plif


def snn_branch_to_spikingjelly(branch: nn.Module) -> nn.Sequential:
    """The SNN branch's blocks as plain single-step spikingjelly modules
    (``nn.Linear`` with a folded BatchNorm, ``neuron.LIFNode`` /
    ``IFNode`` / ``ParametricLIFNode``), the graph NIR exports.

    Forward of the result: a token's features ``[N, C]`` at one step ->
    the last block's spikes ``[N, D]``; set ``step_mode='m'``
    (``functional.set_step_mode``) for ``[T, N, C]``.

    Raises:
        NIRExportError: :func:`nir_blockers` is not empty.
    """
    blockers = nir_blockers(branch)
    if blockers:
        raise NIRExportError('no NIR primitive for: ' + '; '.join(blockers))
    layers = []
    for block in branch.blocks:
        layers += [_folded_linear(block), _plain_neuron(block.neuron)]
    return nn.Sequential(*layers).eval()


def snn_branch_to_nir(branch: nn.Module, dt: float = 1e-4):
    """NIR graph of an SNN branch (spikingjelly's ``export_to_nir`` on
    :func:`snn_branch_to_spikingjelly`).

    Args:
        branch (SNNBranch): a branch without :func:`nir_blockers`.
        dt (float): simulation step in seconds for the NIR time constants
            (``tau_NIR = tau x dt``), spikingjelly's default ``1e-4``;
            import with the same ``dt``.

    Returns:
        nir.NIRGraph: ``input [C]`` -> (``Affine`` -> ``LIF`` | ``IF``) per
        block -> ``output [D]``; ``metadata`` records ``time_steps`` ``T``,
        ``dt``, the encoding and the readout the host computes.

    Raises:
        NIRExportError: the branch has parts without a NIR primitive.
    """
    from spikingjelly.activation_based.nir_exchange import export_to_nir
    net = snn_branch_to_spikingjelly(branch)
    example = torch.zeros(1, branch.in_channels)
    graph = export_to_nir(copy.deepcopy(net), example, dt=dt)
    readout = 'mean of the last block\'s spikes over the valid tokens, then '
    readout += ('the time-step factor (TimeStepFactor) over the steps'
                if getattr(branch, 'tsf', None) is not None else
                'the mean over the steps')
    graph.metadata.update(
        source='stftbox SNNBranch',
        time_steps=int(branch.time_steps), dt=float(dt),
        encoding='direct: the same token features [in_channels] at each of '
        'the time_steps steps; one graph run per token',
        readout=readout + ' (not in the graph)')
    return graph
