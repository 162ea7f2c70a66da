"""The SNN branch of STFT: spiking blocks over T time steps.

Source (docs/method.md): blocks of (conv or linear -> spiking neuron) run for
T time steps in multi-step mode [P: T = 10; S: three Conv+LIF blocks]; GLP
shapes the membrane-potential input (residual sigmoid modulation [S]); the
dynamic threshold reads the GLP statistics [S]; TSF weights the step outputs
[A].
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from spikingjelly.activation_based import functional as sj_functional

from stftbox.registry import MODELS, NEURONS, POOLINGS

__all__ = ['SNNBranch', 'SpikingBlock', 'MaskedBatchNorm']

_MODULATIONS = ('residual_gate', 'gate', 'add', 'none')


class MaskedBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` over the feature axis of ``[..., L, C]`` tokens that
    uses only valid tokens for its statistics; padded outputs are 0.

    Forward: ``x [..., L, C]``, ``valid [..., L]`` bool (True = real token)
    -> ``[..., L, C]``.
    """

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        valid = valid.expand(x.shape[:-1])
        out = x.new_zeros(x.shape)
        out[valid] = super().forward(x[valid])
        return out


class _MaskedLayerNorm(nn.LayerNorm):
    """LayerNorm with the masked signature (per token, mask not needed)."""

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return super().forward(x)


class _NoNorm(nn.Module):

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return x


def _build_norm(norm: Optional[str], dims: int) -> nn.Module:
    if norm is None or norm == 'none':
        return _NoNorm()
    if norm == 'LN':
        return _MaskedLayerNorm(dims)
    if norm == 'BN':
        return MaskedBatchNorm(dims)
    raise ValueError(f"norm must be 'LN', 'BN' or None, got {norm!r}")


class SpikingBlock(nn.Module):
    """One block: ``Linear | Conv1d -> norm -> dropout -> GLP-modulated
    input -> spiking neuron``, vectorised over all leading axes.

    Args:
        in_channels (int): input feature size ``C``.
        out_channels (int): output size ``D``.
        layer_type (str): ``'linear'`` (per token) or ``'conv1d'`` (along
            the tokens, kernel ``kernel_size``, zero padding).
        kernel_size (int): odd kernel of the Conv1d.
        norm (str | None): ``'LN'`` | ``'BN'`` (masked statistics) | None.
        neuron (dict): ``NEURONS`` config.
        pooling (dict | None): ``POOLINGS`` config; None = no modulation
            and no context for the neuron.
        modulation (str): how the pooling output ``P`` shapes the neuron
            input ``u``: ``'residual_gate'`` ``u * (1 + sigmoid(P))``
            (default, [S] "squashed by a sigmoid ... (residual)"),
            ``'gate'`` ``u * sigmoid(P)``, ``'add'`` ``u + P``, ``'none'``
            (``P`` then only feeds the neuron's ``context``).
        dropout (float): dropout probability on the pre-activation.

    Forward:
        ``x [*, L, C]`` (``*`` = ``T, B``; or ``B`` with ``time_steps`` to
        expand the neuron input to ``[T, B, L, D]``), ``valid [*, L]`` bool
        -> spikes ``[T, B, L, D]`` in {0, 1}, zero on padded tokens.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 layer_type: str = 'linear', kernel_size: int = 3,
                 norm: Optional[str] = 'LN',
                 neuron: dict = dict(type='DynamicThresholdLIF'),
                 pooling: Optional[dict] = dict(type='GlobalLocalPooling'),
                 modulation: str = 'residual_gate', dropout: float = 0.0):
        super().__init__()
        if layer_type == 'linear':
            self.proj = nn.Linear(in_channels, out_channels)
        elif layer_type == 'conv1d':
            if kernel_size % 2 == 0:
                raise ValueError(f'kernel_size must be odd, got {kernel_size}')
            self.proj = nn.Conv1d(in_channels, out_channels, kernel_size,
                                  padding=kernel_size // 2)
        else:
            raise ValueError("layer_type must be 'linear' or 'conv1d', got "
                             f'{layer_type!r}')
        if modulation not in _MODULATIONS:
            raise ValueError(f'modulation must be one of {_MODULATIONS}, got '
                             f'{modulation!r}')
        self.layer_type = layer_type
        self.norm = _build_norm(norm, out_channels)
        self.drop = nn.Dropout(dropout)
        self.pooling = (POOLINGS.build(copy.deepcopy(pooling))
                        if pooling is not None else None)
        self.modulation = modulation
        self.neuron = NEURONS.build(copy.deepcopy(neuron))

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer_type == 'linear':
            return self.proj(x)
        lead, (length, chans) = x.shape[:-2], x.shape[-2:]
        y = self.proj(x.reshape(-1, length, chans).transpose(1, 2))
        return y.transpose(1, 2).reshape(*lead, length, -1)

    def forward(self, x: torch.Tensor, valid: torch.Tensor,
                time_steps: Optional[int] = None) -> torch.Tensor:
        vmask = valid.unsqueeze(-1).to(x.dtype)
        u = self._project(x * vmask)
        u = self.drop(self.norm(u, valid))
        ctx = None
        if self.pooling is not None:
            ctx = self.pooling(u, ~valid)
            if self.modulation == 'residual_gate':
                u = u * (1.0 + torch.sigmoid(ctx))
            elif self.modulation == 'gate':
                u = u * torch.sigmoid(ctx)
            elif self.modulation == 'add':
                u = u + ctx
        u = u * vmask
        if time_steps is not None:  # direct encoding: same input every step
            u = u.unsqueeze(0).expand(time_steps, *u.shape)
            vmask = vmask.unsqueeze(0)
            if ctx is not None:
                ctx = ctx.unsqueeze(0).expand(time_steps, *ctx.shape)
        if ctx is not None and getattr(self.neuron, 'uses_context', False):
            spikes = self.neuron(u, context=ctx)
        else:
            spikes = self.neuron(u)
        return spikes * vmask


@MODELS.register_module()
class SNNBranch(BaseModule):
    """Temporal (spiking) branch of STFT.

    Direct encoding: the tokens are the same input at each of ``T`` steps;
    ``num_blocks`` :class:`SpikingBlock` s run multi-step, vectorised over
    ``T x B`` (only the neurons loop over ``T``); the last block's spikes
    are averaged over the valid tokens per step and the steps are combined
    by the TSF. Because the layers before the first neuron are stateless,
    the first block's pre-activation is computed once on ``[B, L, C]`` and
    broadcast over ``T``, which equals repeating the input ``T`` times
    (except that dropout then shares one mask across steps). All neuron
    states are reset at the start of every forward, so a sample's output
    does not depend on earlier batches; padded tokens are zeroed before
    every layer, excluded from pooling windows / BN statistics / the token
    mean, and cannot change the valid tokens' outputs.

    Args:
        in_channels (int): token feature size ``C``.
        embed_dims (int): width ``D`` of every block [S: 512 in STFT].
        time_steps (int): ``T``. Default 10 [P].
        num_blocks (int): number of blocks. Default 3 [S].
        neuron (dict): ``NEURONS`` config of every block. Default
            ``dict(type='DynamicThresholdLIF')`` [A].
        pooling (dict | None): ``POOLINGS`` config; None = no GLP. Default
            ``dict(type='GlobalLocalPooling')`` [A].
        tsf (dict | None): ``MODELS`` config of the step combiner
            (``time_steps`` / ``in_channels`` filled in when absent); None =
            plain mean over steps. Default ``dict(type='TimeStepFactor')`` [A].
        dropout (float): dropout on each block's pre-activation. Default 0.
        layer_type (str): ``'linear'`` (default [I]) or ``'conv1d'`` (along
            tokens; [S] names Conv+LIF blocks).
        kernel_size (int): Conv1d kernel (odd). Default 3 [I].
        norm (str | None): ``'LN'`` (default [I]; per token, batch
            independent), ``'BN'`` (masked statistics) or None.
        modulation (str): see :class:`SpikingBlock`. Default
            ``'residual_gate'`` [S].
        init_cfg (dict | None): mmengine init config.

    Forward:
        ``x [B, L, C]`` float, ``padding_mask [B, L]`` bool (True = padded)
        or None -> ``dict(embedding=[B, D], step_outputs=[T, B, D])``:
        ``step_outputs[t, b]`` is the firing rate (spikes per token, in
        [0, 1]) of the last block at step ``t`` averaged over the valid
        tokens of sample ``b`` (0 when it has none); ``embedding`` is the
        TSF combination over steps.

    Raises:
        ValueError: bad sizes / options, ``x`` not ``[B, L, in_channels]``
            or a mask not ``[B, L]``.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 time_steps: int = 10,
                 num_blocks: int = 3,
                 neuron: dict = dict(type='DynamicThresholdLIF'),
                 pooling: Optional[dict] = dict(type='GlobalLocalPooling'),
                 tsf: Optional[dict] = dict(type='TimeStepFactor'),
                 dropout: float = 0.0,
                 layer_type: str = 'linear',
                 kernel_size: int = 3,
                 norm: Optional[str] = 'LN',
                 modulation: str = 'residual_gate',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if time_steps < 1 or num_blocks < 1:
            raise ValueError('time_steps and num_blocks must be >= 1, got '
                             f'{time_steps}, {num_blocks}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.time_steps = int(time_steps)
        self.blocks = nn.ModuleList([
            SpikingBlock(in_channels if i == 0 else embed_dims, embed_dims,
                         layer_type=layer_type, kernel_size=kernel_size,
                         norm=norm, neuron=neuron, pooling=pooling,
                         modulation=modulation, dropout=dropout)
            for i in range(num_blocks)
        ])
        if tsf is not None:
            tsf = copy.deepcopy(tsf)
            tsf.setdefault('time_steps', self.time_steps)
            tsf.setdefault('in_channels', embed_dims)
            self.tsf = MODELS.build(tsf)
        else:
            self.tsf = None

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None) -> dict:
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(f'SNNBranch expects x [B, L, {self.in_channels}]'
                             f', got {tuple(x.shape)}')
        if padding_mask is None:
            padding_mask = x.new_zeros(x.shape[:2], dtype=torch.bool)
        elif padding_mask.shape != x.shape[:2]:
            raise ValueError(f'padding_mask must be [B, L] = '
                             f'{tuple(x.shape[:2])}, got '
                             f'{tuple(padding_mask.shape)}')
        sj_functional.reset_net(self)
        valid = ~padding_mask.to(torch.bool)                       # [B, L]
        s = self.blocks[0](x, valid, time_steps=self.time_steps)  # [T,B,L,D]
        for block in self.blocks[1:]:
            s = block(s, valid)
        vmask = valid.unsqueeze(0).unsqueeze(-1).to(s.dtype)       # [1,B,L,1]
        count = vmask.sum(2).clamp_min(1.0)                        # [1,B,1]
        step_outputs = (s * vmask).sum(2) / count                  # [T,B,D]
        if self.tsf is not None:
            embedding = self.tsf(step_outputs)
        else:
            embedding = step_outputs.mean(0)
        return dict(embedding=embedding, step_outputs=step_outputs)
