"""The SNN branch of STFT: spiking blocks over T time steps.

Source (docs/method.md): blocks of (conv or linear -> spiking neuron) run for
T time steps in multi-step mode [P: T = 10; S: three Conv+LIF blocks]; GLP
shapes the membrane-potential input (residual sigmoid modulation [S]); the
dynamic threshold reads the GLP statistics [S]; TSF weights the step outputs
[A]. The audio and the video token sequences run through the same blocks
one after the other (same weights), so no local window mixes the two
modalities [I].
"""
import copy
import inspect
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based import memopt as sj_memopt

from stftbox.models.poolings.token_poolings import MODULATIONS, modulate
from stftbox.ops.backend import check_backend
from stftbox.ops.token_conv import supported_backends as _CONV_BACKENDS
from stftbox.ops.token_conv import token_conv1d
from stftbox.registry import MODELS, NEURONS, POOLINGS

__all__ = ['SNNBranch', 'SpikingBlock', 'MaskedBatchNorm', 'TokenConv1d',
           'join_modalities', 'pack_valid_tokens']

_DROPOUT_MODES = ('shared', 'per_step')


def pack_valid_tokens(x: torch.Tensor, padding_mask: torch.Tensor) -> tuple:
    """Move every clip's valid tokens to the front, in order, padding last
    (a clip's sequence, and so its local windows, do not depend on where
    the padding was or on the other clips of the batch).

    Args:
        x (Tensor): ``[B, L, C]``.
        padding_mask (Tensor): ``[B, L]`` bool, True = padded.

    Returns:
        tuple: packed ``x [B, L, C]`` and its mask ``[B, L]``.
    """
    order = torch.sort(padding_mask.to(torch.uint8), dim=1,
                       stable=True).indices
    packed = x.gather(1, order.unsqueeze(-1).expand_as(x))
    return packed, padding_mask.gather(1, order)


def join_modalities(audio: torch.Tensor, video: torch.Tensor,
                    audio_padding_mask: torch.Tensor,
                    video_padding_mask: torch.Tensor) -> tuple:
    """One sequence ``[its audio tokens, its video tokens, padding]`` per
    clip: the input of ``SNNBranch`` when windows may straddle the two
    modalities (``STFTBackbone(snn_windows='joined')``).

    Args:
        audio (Tensor): ``[B, La, C]``; video (Tensor): ``[B, Lv, C]``.
        audio_padding_mask, video_padding_mask (Tensor): ``[B, La]``,
            ``[B, Lv]`` bool, True = padded.

    Returns:
        tuple: ``x [B, La + Lv, C]`` and ``padding_mask [B, La + Lv]``.
    """
    return pack_valid_tokens(
        torch.cat([audio, video], dim=1),
        torch.cat([audio_padding_mask, video_padding_mask], dim=1))


class MaskedBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` over the feature axis of ``[..., L, C]`` tokens that
    uses only valid tokens for its statistics; padded outputs are 0.

    Forward: ``x [..., L, C]``, ``valid [..., L]`` bool (True = real token)
    or None (all valid) -> ``[..., L, C]``.
    """

    def forward(self, x: torch.Tensor,
                valid: Optional[torch.Tensor]) -> torch.Tensor:
        if valid is None:
            return super().forward(x.reshape(-1, x.shape[-1])).reshape(
                x.shape)
        valid = valid.expand(x.shape[:-1])
        out = x.new_zeros(x.shape)
        out[valid] = super().forward(x[valid])
        return out


class _MaskedLayerNorm(nn.LayerNorm):
    """LayerNorm with the masked signature (per token, mask not needed)."""

    def forward(self, x: torch.Tensor, valid) -> torch.Tensor:
        return super().forward(x)


class _NoNorm(nn.Module):

    def forward(self, x: torch.Tensor, valid) -> torch.Tensor:
        return x


def _build_norm(norm: Optional[str], dims: int) -> nn.Module:
    if norm is None or norm == 'none':
        return _NoNorm()
    if norm == 'LN':
        return _MaskedLayerNorm(dims)
    if norm == 'BN':
        return MaskedBatchNorm(dims)
    raise ValueError(f"norm must be 'LN', 'BN' or None, got {norm!r}")


def _registered_class(cfg: dict, registry):
    cls = cfg.get('type')
    return registry.get(cls) if isinstance(cls, str) else cls


def _neuron_reads_context(cfg: dict) -> bool:
    """Whether the neuron of ``cfg`` would read a ``context``."""
    cls = _registered_class(cfg, NEURONS)
    return bool(cfg.get('uses_context', getattr(cls, 'uses_context', False)))


def _with_backend(cfg: dict, registry, backend: str) -> dict:
    """``cfg`` with ``backend`` filled in when the registered class takes a
    ``backend`` argument and the config sets none (a plugin's neuron or
    pooling without kernels is built as configured)."""
    cfg = copy.deepcopy(dict(cfg))
    cls = _registered_class(cfg, registry)
    try:
        takes = 'backend' in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        takes = False
    if takes:
        cfg.setdefault('backend', backend)
    return cfg


class TokenConv1d(nn.Conv1d):
    """``nn.Conv1d`` (stride 1, ``k // 2`` zero padding) on channels-last
    tokens, through :func:`stftbox.ops.token_conv.token_conv1d`. Same
    parameters (``weight [D, C, k]``, ``bias [D]``) and values as the
    ``nn.Conv1d`` it subclasses, and still called as a module (so forward
    hooks, e.g. SOP counters, see it).

    Args:
        in_channels, out_channels, kernel_size: as ``nn.Conv1d`` (odd
            kernel).
        backend (str): ``'auto'`` (default), ``'torch'`` or ``'fused'``
            (``supported_backends``, see ``token_conv1d``).

    Forward: ``x [..., L, C]`` -> ``[..., L, D]``.

    Raises:
        ValueError: an even kernel or an unknown backend.
    """

    supported_backends = _CONV_BACKENDS

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int, backend: str = 'auto') -> None:
        if kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        super().__init__(in_channels, out_channels, kernel_size,
                         padding=kernel_size // 2)
        self.backend = check_backend(backend, self.supported_backends,
                                     'TokenConv1d backend')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return token_conv1d(x, self.weight, self.bias, self.backend)


class SpikingBlock(nn.Module):
    """One block: ``Conv1d | Linear -> norm -> dropout -> pooling-modulated
    input -> spiking neuron``, vectorised over all leading axes.

    Only what is used is built: without pooling, a context-reading neuron
    (e.g. :class:`~stftbox.models.neurons.DynamicThresholdLIF`) is built
    with ``uses_context=False`` (no GLP weight); with ``modulation='none'``
    and a neuron that reads no context, the pooling would feed nothing and
    is not built. The pooling is called through its ``pool_and_modulate``
    when it has one (:class:`~stftbox.models.poolings.BaseTokenPooling`),
    else as ``P = pooling(u, padding_mask)``; the neuron as ``neuron(u,
    context=P)`` when it reads a context, else ``neuron(u)``.

    Args:
        in_channels (int): input feature size ``C``.
        out_channels (int): output size ``D``.
        layer_type (str): ``'conv1d'`` (along the tokens, kernel
            ``kernel_size``, zero padding, [S] Conv+LIF) or ``'linear'``
            (per token).
        kernel_size (int): odd kernel of the Conv1d. Default 3 [I].
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
        dropout_mode (str): ``'shared'`` (default [I]): spikingjelly's
            ``layer.Dropout``, one mask per sample kept for all ``T`` steps
            (Lee et al. 2019); ``'per_step'``: ``torch.nn.Dropout``.
        backend (str): backend of the Conv1d (``TokenConv1d``).

    Forward:
        ``x [*, L, C]`` (``*`` = ``T, B``; or ``B`` with ``time_steps`` to
        expand the neuron input to ``[T, B, L, D]`` as a stride-0 view),
        zero on padded tokens; ``valid [*, L]`` bool or None (all valid)
        -> spikes ``[T, B, L, D]`` in {0, 1}, zero on padded tokens.

    Raises:
        ValueError: unknown ``layer_type`` / ``modulation`` /
            ``dropout_mode``, even ``kernel_size``, ``dropout`` outside
            ``[0, 1)``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 layer_type: str = 'conv1d', kernel_size: int = 3,
                 norm: Optional[str] = 'LN',
                 neuron: dict = dict(type='DynamicThresholdLIF'),
                 pooling: Optional[dict] = dict(type='GlobalLocalPooling'),
                 modulation: str = 'residual_gate', dropout: float = 0.0,
                 dropout_mode: str = 'shared', backend: str = 'auto'):
        super().__init__()
        if layer_type == 'linear':
            self.proj = nn.Linear(in_channels, out_channels)
        elif layer_type == 'conv1d':
            self.proj = TokenConv1d(in_channels, out_channels, kernel_size,
                                    backend)
        else:
            raise ValueError("layer_type must be 'linear' or 'conv1d', got "
                             f'{layer_type!r}')
        if modulation not in MODULATIONS:
            raise ValueError(f'modulation must be one of {MODULATIONS}, got '
                             f'{modulation!r}')
        self.layer_type = layer_type
        self.kernel_size = int(kernel_size) if layer_type == 'conv1d' else 1
        self.norm = _build_norm(norm, out_channels)
        if dropout_mode not in _DROPOUT_MODES:
            raise ValueError(f'dropout_mode must be one of {_DROPOUT_MODES},'
                             f' got {dropout_mode!r}')
        self.dropout_mode = dropout_mode
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        if dropout == 0:
            self.drop = nn.Identity()
        elif dropout_mode == 'shared':
            self.drop = sj_layer.Dropout(dropout, step_mode='m')
        else:
            self.drop = nn.Dropout(dropout)
        neuron = _with_backend(neuron, NEURONS, backend)
        reads_context = _neuron_reads_context(neuron)
        if pooling is not None and modulation == 'none' and not reads_context:
            pooling = None  # its output would feed nothing
        if pooling is None and reads_context:
            neuron['uses_context'] = False
        self.pooling = (POOLINGS.build(_with_backend(pooling, POOLINGS,
                                                     backend))
                        if pooling is not None else None)
        self.modulation = modulation
        self.neuron = NEURONS.build(neuron)

    def _pool(self, u: torch.Tensor, mask: Optional[torch.Tensor]) -> tuple:
        """``(modulated u, P)``."""
        both = getattr(self.pooling, 'pool_and_modulate', None)
        if both is not None:
            return both(u, mask, self.modulation)
        p = self.pooling(u, mask)
        return modulate(u, p, self.modulation), p

    def forward(self, x: torch.Tensor, valid: Optional[torch.Tensor],
                time_steps: Optional[int] = None) -> torch.Tensor:
        vmask = None if valid is None else valid.unsqueeze(-1).to(x.dtype)
        u = self.norm(self.proj(x), valid)
        if isinstance(self.drop, sj_layer.Dropout):
            # one mask for all steps: [T, B, ...] in multi-step mode; the
            # direct-encoded first block's [B, ...] input is one step
            self.drop.step_mode = 'm' if time_steps is None else 's'
        u = self.drop(u)
        ctx = None
        if self.pooling is not None:
            u, ctx = self._pool(u, None if valid is None else ~valid)
        if vmask is not None:
            u = u * vmask
        if time_steps is not None:  # direct encoding: same input every step
            u = u.unsqueeze(0).expand(time_steps, *u.shape)
            if vmask is not None:
                vmask = vmask.unsqueeze(0)
            if ctx is not None:
                ctx = ctx.unsqueeze(0).expand(time_steps, *ctx.shape)
        if ctx is not None and getattr(self.neuron, 'uses_context', False):
            spikes = self.neuron(u, context=ctx)
        else:
            spikes = self.neuron(u)
        return spikes if vmask is None else spikes * vmask


@MODELS.register_module()
class SNNBranch(BaseModule):
    """Temporal (spiking) branch of STFT.

    Direct encoding: the tokens are the same input at each of ``T`` steps;
    ``num_blocks`` :class:`SpikingBlock` s run multi-step, vectorised over
    ``T x B``; the last block's spikes are averaged over the valid tokens
    per step and the steps are combined by the TSF. Several token
    sequences (STFT: the audio and the video tokens) run through the same
    blocks one after the other, each from the reset neuron state, so every
    local window (Conv1d, pooling) stays within one sequence, i.e. within
    one modality [I]; the step outputs average the valid tokens of all
    sequences. Because the layers before the first neuron are stateless,
    the first block's pre-activation and GLP are computed once on
    ``[B, L, C]`` and broadcast over ``T`` as a stride-0 view. A clip's
    valid tokens are moved to the front of its sequence
    (:func:`pack_valid_tokens`); padded tokens are zeroed before every
    layer, excluded from pooling windows / BN statistics / the token mean,
    and cannot change the valid tokens' outputs. When nothing is padded, no
    mask is applied at all.

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
        dropout_mode (str): ``'shared'`` (default [I]) or ``'per_step'``;
            see :class:`SpikingBlock`.
        layer_type (str): ``'conv1d'`` (default, [S] "Conv+LIF blocks";
            along the tokens) or ``'linear'`` ([I]).
        kernel_size (int): Conv1d kernel along the tokens (odd). Default 3
            [I] (a temporal kernel; 1 is the pointwise speed option,
            docs/widths.md).
        norm (str | None): ``'LN'`` (default [I]; per token, batch
            independent), ``'BN'`` (masked statistics) or None.
        modulation (str): see :class:`SpikingBlock`. Default
            ``'residual_gate'`` [S].
        memory_saving (bool): activation checkpointing of every block in
            training (spikingjelly ``activation_based.memopt.checkpoint``,
            the spike inputs of blocks ``>= 1`` stored bit-packed by its
            ``BitSpikeCompressor``); same outputs and gradients, less
            memory, a slower training step (docs/method.md). Default False
            [I].
        backend (str): ``'auto'`` (default), ``'torch'`` or ``'fused'``,
            passed to the Conv1d and to every neuron / pooling whose class
            takes a ``backend`` argument (and whose config sets none).
        init_cfg (dict | None): mmengine init config.

    Forward:
        ``x`` ``[B, L, C]`` or a sequence of such tensors (lengths may
        differ), ``padding_mask`` ``[B, L]`` bool (True = padded), a
        sequence of them (None entries allowed) or None ->
        ``dict(embedding=[B, D], step_outputs=[T, B, D])``:
        ``step_outputs[t, b]`` is the firing rate (spikes per token, in
        [0, 1]) of the last block at step ``t`` averaged over the valid
        tokens of sample ``b`` in all sequences (0 when it has none);
        ``embedding`` is the TSF combination over steps.

    Raises:
        ValueError: bad sizes / options, an input not ``[B, L,
            in_channels]``, batch sizes that differ, or a mask not
            ``[B, L]``.
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
                 dropout_mode: str = 'shared',
                 layer_type: str = 'conv1d',
                 kernel_size: int = 3,
                 norm: Optional[str] = 'LN',
                 modulation: str = 'residual_gate',
                 memory_saving: bool = False,
                 backend: str = 'auto',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if time_steps < 1 or num_blocks < 1:
            raise ValueError('time_steps and num_blocks must be >= 1, got '
                             f'{time_steps}, {num_blocks}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.time_steps = int(time_steps)
        self.memory_saving = bool(memory_saving)
        #: the backend given to the blocks at construction (each op keeps
        #: its own ``backend`` attribute)
        self.backend = check_backend(backend, ('torch', 'fused'),
                                     'SNNBranch backend')
        self.blocks = nn.ModuleList([
            SpikingBlock(in_channels if i == 0 else embed_dims, embed_dims,
                         layer_type=layer_type, kernel_size=kernel_size,
                         norm=norm, neuron=neuron, pooling=pooling,
                         modulation=modulation, dropout=dropout,
                         dropout_mode=dropout_mode, backend=backend)
            for i in range(num_blocks)
        ])
        if tsf is not None:
            tsf = copy.deepcopy(tsf)
            tsf.setdefault('time_steps', self.time_steps)
            tsf.setdefault('in_channels', embed_dims)
            self.tsf = MODELS.build(tsf)
        else:
            self.tsf = None

    def _sequences(self, x, padding_mask) -> list:
        """Checked ``[(x [B, L, C], mask [B, L] or None), ...]``."""
        if isinstance(x, torch.Tensor):
            xs, masks = [x], [padding_mask]
        else:
            xs = list(x)
            masks = ([None] * len(xs) if padding_mask is None
                     else list(padding_mask))
        if not xs or len(masks) != len(xs):
            raise ValueError(f'SNNBranch: {len(xs)} sequences but '
                             f'{len(masks)} padding masks')
        out = []
        for i, (seq, mask) in enumerate(zip(xs, masks)):
            if seq.dim() != 3 or seq.shape[-1] != self.in_channels or \
                    seq.shape[0] != xs[0].shape[0]:
                raise ValueError(
                    f'SNNBranch expects sequence {i} as [B = '
                    f'{xs[0].shape[0]}, L, {self.in_channels}], got '
                    f'{tuple(seq.shape)}')
            if mask is not None:
                if mask.shape != seq.shape[:2]:
                    raise ValueError(f'padding_mask {i} must be [B, L] = '
                                     f'{tuple(seq.shape[:2])}, got '
                                     f'{tuple(mask.shape)}')
                mask = mask.to(torch.bool)
                if not bool(mask.any()):
                    mask = None
                else:
                    seq, mask = pack_valid_tokens(seq, mask)
            out.append((seq, mask))
        return out

    def _run_block(self, index: int, s: torch.Tensor,
                   valid: Optional[torch.Tensor]) -> torch.Tensor:
        block = self.blocks[index]
        steps = self.time_steps if index == 0 else None
        if not (self.memory_saving and self.training
                and torch.is_grad_enabled()):
            return block(s, valid, time_steps=steps)

        def run(inp):
            # the recomputation in the backward pass must start from the
            # same (reset) neuron state as the forward pass
            sj_functional.reset_net(block)
            return block(inp, valid, time_steps=steps)

        compressor = None if index == 0 else sj_memopt.BitSpikeCompressor()
        return sj_memopt.checkpoint(run, s, compressor=compressor)

    def _run_sequence(self, x: torch.Tensor,
                      padding_mask: Optional[torch.Tensor]) -> tuple:
        """Blocks over one sequence from the reset state -> ``(sum of the
        last block's spikes over the valid tokens [T, B, D], valid token
        count [1, B, 1])``."""
        sj_functional.reset_net(self)
        valid = None
        if padding_mask is not None:
            valid = ~padding_mask                                  # [B, L]
            x = x * valid.unsqueeze(-1).to(x.dtype)
        s = self._run_block(0, x, valid)                           # [T,B,L,D]
        for i in range(1, len(self.blocks)):
            s = self._run_block(i, s, valid)
        if valid is None:
            return s.sum(2), s.new_full((1, s.shape[1], 1), s.shape[2])
        vmask = valid.unsqueeze(0).unsqueeze(-1).to(s.dtype)       # [1,B,L,1]
        return (s * vmask).sum(2), vmask.sum(2)

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]],
                padding_mask=None) -> dict:
        total = count = None
        for seq, mask in self._sequences(x, padding_mask):
            spikes, n = self._run_sequence(seq, mask)
            total = spikes if total is None else total + spikes
            count = n if count is None else count + n
        step_outputs = total / count.clamp_min(1.0)                # [T,B,D]
        if self.tsf is not None:
            embedding = self.tsf(step_outputs)
        else:
            embedding = step_outputs.mean(0)
        return dict(embedding=embedding, step_outputs=step_outputs)
