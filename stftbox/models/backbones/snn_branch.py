"""The SNN branch of STFT: spiking blocks over T time steps.

Source (docs/method.md): blocks of (conv or linear -> spiking neuron) run for
T time steps in multi-step mode [P: T = 10; S: three Conv+LIF blocks]; GLP
shapes the membrane-potential input (residual sigmoid modulation [S]); the
dynamic threshold reads the GLP statistics [S]; TSF weights the step outputs
[A].
"""
import copy
import inspect
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import layer as sj_layer
from spikingjelly.activation_based import memopt as sj_memopt

from stftbox.models.poolings.pooling_ops import replace_columns
from stftbox.registry import MODELS, NEURONS, POOLINGS

__all__ = ['SNNBranch', 'SpikingBlock', 'MaskedBatchNorm',
           'insert_segment_gaps', 'join_modalities', 'PointwiseConv1d',
           'segment_boundaries']

_MODULATIONS = ('residual_gate', 'gate', 'add', 'none')
_DROPOUT_MODES = ('shared', 'per_step')


def join_modalities(audio: torch.Tensor, video: torch.Tensor,
                    audio_padding_mask: torch.Tensor,
                    video_padding_mask: torch.Tensor) -> tuple:
    """Join audio and video tokens into the SNN branch's one sequence.

    Every clip's valid steps are moved to the front in order, padding last:
    ``[its audio steps, its video steps, padding]`` whatever the other clips
    of the batch (a clip's sequence, and so its local windows, do not depend
    on the batch).

    Args:
        audio (Tensor): ``[B, La, C]``; video (Tensor): ``[B, Lv, C]``.
        audio_padding_mask (Tensor): ``[B, La]`` bool, True = padded.
        video_padding_mask (Tensor): ``[B, Lv]`` bool, True = padded.

    Returns:
        tuple: ``x [B, La + Lv, C]``, ``padding_mask [B, La + Lv]`` and
        ``segment_ids [B, La + Lv]`` (int64, 0 = audio, 1 = video), the
        arguments of :meth:`SNNBranch.forward`.
    """
    x = torch.cat([audio, video], dim=1)
    mask = torch.cat([audio_padding_mask, video_padding_mask], dim=1)
    seg = torch.cat([torch.zeros_like(audio_padding_mask, dtype=torch.long),
                     torch.ones_like(video_padding_mask, dtype=torch.long)],
                    dim=1)
    order = torch.sort(mask.to(torch.uint8), dim=1, stable=True).indices
    x = x.gather(1, order.unsqueeze(-1).expand_as(x))
    return x, mask.gather(1, order), seg.gather(1, order)


def insert_segment_gaps(x: torch.Tensor, padding_mask: torch.Tensor,
                        segment_ids: torch.Tensor, gap: int) -> tuple:
    """Insert ``gap`` padded tokens wherever two neighbouring valid tokens
    belong to different segments (e.g. the audio/video boundary).

    A local window of half-width ``<= gap`` (pooling, Conv1d) then never
    straddles a boundary: masked poolings skip the gap as padding and a
    zero-padded Conv1d sees zeros there, i.e. each segment is processed as
    its own sequence, while everything stays one batched tensor. A clip's
    valid tokens are expected contiguous, padding last (as
    :func:`join_modalities` packs them); a boundary is only seen between
    two neighbouring valid tokens.

    Args:
        x (Tensor): ``[B, L, C]``.
        padding_mask (Tensor): ``[B, L]`` bool, True = padded.
        segment_ids (Tensor): ``[B, L]`` integer segment of each token.
        gap (int): tokens to insert per boundary, >= 0.

    Returns:
        tuple: ``x [B, L', C]`` (zeros in the gaps) and its padding mask
        ``[B, L']`` (gaps True), ``L' = L + gap * (most boundaries of a
        clip)``; unchanged inputs when ``gap == 0`` or no clip has a
        boundary.

    Raises:
        ValueError: ``segment_ids`` not ``[B, L]`` or ``gap < 0``.
    """
    if gap < 0:
        raise ValueError(f'gap must be >= 0, got {gap}')
    if segment_ids.shape != padding_mask.shape:
        raise ValueError(f'segment_ids must be [B, L] = '
                         f'{tuple(padding_mask.shape)}, got '
                         f'{tuple(segment_ids.shape)}')
    valid = ~padding_mask
    change = torch.zeros_like(valid)
    change[:, 1:] = ((segment_ids[:, 1:] != segment_ids[:, :-1])
                     & valid[:, 1:] & valid[:, :-1])
    most = int(change.sum(1).max()) if change.numel() else 0
    if gap == 0 or most == 0:
        return x, padding_mask
    pos = torch.arange(x.shape[1], device=x.device) + gap * change.long(
    ).cumsum(1)                                                # [B, L]
    length = x.shape[1] + gap * most
    out = x.new_zeros((x.shape[0], length, x.shape[2]))
    out.scatter_(1, pos.unsqueeze(-1).expand_as(x), x)
    new_mask = padding_mask.new_ones((x.shape[0], length))
    new_mask.scatter_(1, pos, padding_mask)
    return out, new_mask


def segment_boundaries(segment_ids: torch.Tensor,
                       padding_mask: Optional[torch.Tensor] = None
                       ) -> Optional[tuple]:
    """The segment starts shared by every clip, if the batch allows the
    mask-free windows-within-segments path.

    Args:
        segment_ids (Tensor): ``[B, L]`` integer segment of each token.
        padding_mask (Tensor | None): ``[B, L]`` bool, True = padded.

    Returns:
        tuple | None: the token indices ``0 < b < L`` where a new segment
        starts (``()`` for one segment), when no token is padded and every
        clip has the same segment layout (all rows of ``segment_ids``
        equal, as :func:`join_modalities` gives without padding); None
        otherwise (then :func:`insert_segment_gaps` is needed).
    """
    if padding_mask is not None and bool(padding_mask.any()):
        return None
    row = segment_ids[:1]
    if segment_ids.shape[0] > 1 and not bool((segment_ids == row).all()):
        return None
    change = (row[0, 1:] != row[0, :-1]).nonzero().flatten() + 1
    return tuple(change.tolist())


def _correct_conv_boundaries(y: torch.Tensor, x: torch.Tensor,
                             weight: torch.Tensor, boundaries,
                             bias: Optional[torch.Tensor] = None
                             ) -> torch.Tensor:
    """Turn a zero-padded Conv1d over the whole sequence into the Conv1d of
    every segment alone (zero padding at the segment edges): the few
    columns next to a boundary, whose windows cross it, are recomputed from
    their in-segment taps only (``bias + sum_t W_t x[j + t - k // 2]``, the
    cross-boundary taps zeroed), so that e.g. a silent neighbourhood gives
    exactly the bias, as the zero padding does (exact ties for the max
    pooling that follows).

    Args:
        y (Tensor): ``[..., L, D]``, the conv output of the whole sequence
            (channels last), modified in place (not saved by the conv's
            backward).
        x (Tensor): ``[..., L, C]``, the conv input.
        weight (Tensor): ``[D, C, k]`` the Conv1d weight (odd ``k``,
            ``k // 2`` zero padding, stride 1, no dilation / groups).
        boundaries (Sequence[int] | None): token indices where a new segment
            starts (same for all sequences).
        bias (Tensor | None): ``[D]`` the Conv1d bias.

    Returns:
        Tensor: ``y`` corrected (``y`` itself when nothing is to correct).
    """
    k = weight.shape[-1]
    if k == 1 or not boundaries:
        return y
    length, half = x.shape[-2], k // 2
    seg = [0] * length
    for b in sorted(set(int(b) for b in boundaries)):
        if not 0 < b < length:
            raise ValueError(f'boundaries must lie in (0, L = {length}), got '
                             f'{list(boundaries)}')
        seg[b:] = [seg[b] + 1] * (length - b)
    # columns whose window crosses a boundary, grouped by their in-segment
    # taps (one linear per group, on those taps only)
    groups = {}
    for j in range(length):
        taps = tuple(t for t in range(k) if 0 <= j + t - half < length
                     and seg[j + t - half] == seg[j])
        if len(taps) < k and any(0 <= j + t - half < length
                                 for t in range(k) if t not in taps):
            groups.setdefault(taps, []).append(j)
    for taps, cols in groups.items():
        src = [j + t - half for j in cols for t in taps]
        unf = x.index_select(-2, torch.tensor(src, device=x.device))
        unf = unf.reshape(*x.shape[:-2], len(cols), len(taps) * x.shape[-1])
        w = weight[:, :, list(taps)].permute(0, 2, 1).reshape(
            weight.shape[0], -1)                            # [D, taps * C]
        y = replace_columns(y, F.linear(unf, w, bias), cols)
    return y


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


def _neuron_reads_context(cfg: dict) -> bool:
    """Whether the neuron of ``cfg`` would read a ``context``."""
    cls = cfg.get('type')
    if isinstance(cls, str):
        cls = NEURONS.get(cls)
    return bool(cfg.get('uses_context', getattr(cls, 'uses_context', False)))


class PointwiseConv1d(nn.Conv1d):
    """Kernel-1 ``nn.Conv1d`` that takes channels-last tokens: one matrix
    product (``F.linear`` with the Conv1d weight), no ``[N, C, L]``
    transposes. Same parameters (``weight [D, C, 1]``, ``bias [D]``) and
    values as the ``nn.Conv1d`` it subclasses, and still called as a module
    (so forward hooks, e.g. SOP counters, see it).

    Forward: ``x [..., L, C]`` -> ``[..., L, D]``.

    Raises:
        ValueError: a kernel other than 1, or ``stride`` / ``padding`` /
            ``dilation`` / ``groups`` other than 1 / 0 / 1 / 1 (which this
            forward would not apply).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if (self.kernel_size, self.stride, self.padding, self.dilation,
                self.groups) != ((1, ), (1, ), (0, ), (1, ), 1):
            raise ValueError(
                'PointwiseConv1d needs kernel_size=1, stride=1, padding=0, '
                f'dilation=1, groups=1; got kernel_size={self.kernel_size}, '
                f'stride={self.stride}, padding={self.padding}, '
                f'dilation={self.dilation}, groups={self.groups}')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight.squeeze(-1), self.bias)


class SpikingBlock(nn.Module):
    """One block: ``Conv1d | Linear -> norm -> dropout -> GLP-modulated
    input -> spiking neuron``, vectorised over all leading axes.

    Only what is used is built: without pooling, a context-reading neuron
    (e.g. :class:`~stftbox.models.neurons.DynamicThresholdLIF`) is built
    with ``uses_context=False`` (no GLP weight); with ``modulation='none'``
    and a neuron that reads no context, the pooling would feed nothing and
    is not built.

    Args:
        in_channels (int): input feature size ``C``.
        out_channels (int): output size ``D``.
        layer_type (str): ``'conv1d'`` (along the tokens, kernel
            ``kernel_size``, zero padding, [S] Conv+LIF) or ``'linear'``
            (per token).
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
        dropout_mode (str): ``'shared'`` (default [I]): spikingjelly's
            ``layer.Dropout``, one mask per sample kept for all ``T`` steps
            (the SNN dropout of Lee et al. 2019, "Enabling spike-based
            backpropagation"; the first block's direct-encoded input shares
            it anyway); ``'per_step'``: ``torch.nn.Dropout``, a new mask at
            every step (the earlier behaviour).

    Forward:
        ``x [*, L, C]`` (``*`` = ``T, B``; or ``B`` with ``time_steps`` to
        expand the neuron input to ``[T, B, L, D]`` as a stride-0 view),
        zero on padded tokens; ``valid [*, L]`` bool or None (all valid);
        ``boundaries`` (Sequence[int] | None): token indices where a new
        segment starts, the same for every sequence: the Conv1d and the
        pooling windows are clipped there as at the sequence ends (each
        segment processed as its own sequence, without gap tokens or
        masks) -> spikes ``[T, B, L, D]`` in {0, 1}, zero on padded tokens.

    Raises:
        ValueError: unknown ``layer_type`` / ``modulation`` /
            ``dropout_mode``, even ``kernel_size``, ``dropout`` outside
            ``[0, 1)``.

    With ``'residual_gate'``, no padded token and a pooling that has a
    ``gated`` method (:meth:`GlobalLocalPooling.gated
    <stftbox.models.poolings.GlobalLocalPooling.gated>`), pooling and gate
    run as one fused op (same values and gradients up to float32
    rounding).

    A ``kernel_size=1`` Conv1d (a pointwise convolution, as in Spikformer's
    Conv1d+BN+LIF blocks) is computed as one matrix product on the
    channels-last tokens (``F.linear`` with the Conv1d weight), without the
    ``[N, C, L]`` transposes.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 layer_type: str = 'conv1d', kernel_size: int = 1,
                 norm: Optional[str] = 'LN',
                 neuron: dict = dict(type='DynamicThresholdLIF'),
                 pooling: Optional[dict] = dict(type='GlobalLocalPooling'),
                 modulation: str = 'residual_gate', dropout: float = 0.0,
                 dropout_mode: str = 'shared'):
        super().__init__()
        if layer_type == 'linear':
            self.proj = nn.Linear(in_channels, out_channels)
        elif layer_type == 'conv1d':
            if kernel_size % 2 == 0:
                raise ValueError(f'kernel_size must be odd, got {kernel_size}')
            conv = PointwiseConv1d if kernel_size == 1 else nn.Conv1d
            self.proj = conv(in_channels, out_channels, kernel_size,
                             padding=kernel_size // 2)
        else:
            raise ValueError("layer_type must be 'linear' or 'conv1d', got "
                             f'{layer_type!r}')
        if modulation not in _MODULATIONS:
            raise ValueError(f'modulation must be one of {_MODULATIONS}, got '
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
        neuron = copy.deepcopy(dict(neuron))
        reads_context = _neuron_reads_context(neuron)
        if pooling is not None and modulation == 'none' and not reads_context:
            pooling = None  # its output would feed nothing
        if pooling is None and reads_context:
            neuron['uses_context'] = False
        self.pooling = (POOLINGS.build(copy.deepcopy(pooling))
                        if pooling is not None else None)
        self.modulation = modulation
        self.neuron = NEURONS.build(neuron)

    @property
    def half_window(self) -> int:
        """Largest half-width of this block's local windows along the tokens
        (Conv1d and pooling), in tokens."""
        pool = getattr(self.pooling, 'kernel_size', 1) if self.pooling else 1
        return max(self.kernel_size, pool) // 2

    @property
    def supports_boundaries(self) -> bool:
        """Whether :meth:`forward` can take ``boundaries``: no pooling, or
        a pooling whose ``forward`` has a ``boundaries`` argument (all of
        :mod:`stftbox.models.poolings`; a custom pooling with the plain
        ``forward(x, padding_mask)`` gets the gap tokens instead)."""
        if self.pooling is None:
            return True
        try:
            params = inspect.signature(self.pooling.forward).parameters
        except (TypeError, ValueError):
            return False
        return 'boundaries' in params

    def _project(self, x: torch.Tensor, boundaries=None) -> torch.Tensor:
        if self.layer_type == 'linear':
            return self.proj(x)
        if self.kernel_size == 1:   # pointwise: one GEMM, channels last
            return self.proj(x)
        lead, (length, chans) = x.shape[:-2], x.shape[-2:]
        y = self.proj(x.reshape(-1, length, chans).transpose(1, 2))
        y = y.transpose(1, 2).reshape(*lead, length, -1)
        # windows within segments without gap tokens
        return _correct_conv_boundaries(y, x, self.proj.weight, boundaries,
                                        self.proj.bias)

    def forward(self, x: torch.Tensor, valid: Optional[torch.Tensor],
                time_steps: Optional[int] = None,
                boundaries=None) -> torch.Tensor:
        vmask = None if valid is None else valid.unsqueeze(-1).to(x.dtype)
        u = self.norm(self._project(x, boundaries), valid)
        if isinstance(self.drop, sj_layer.Dropout):
            # one mask for all steps: [T, B, ...] in multi-step mode; the
            # direct-encoded first block's [B, ...] input is one step
            self.drop.step_mode = 'm' if time_steps is None else 's'
        u = self.drop(u)
        ctx = None
        fused = None
        if self.pooling is not None and valid is None \
                and self.modulation == 'residual_gate' \
                and hasattr(self.pooling, 'gated'):
            fused = self.pooling.gated(u, boundaries)  # (gated u, P) | None
        if fused is not None:
            u, ctx = fused
        elif self.pooling is not None:
            mask = None if valid is None else ~valid
            ctx = (self.pooling(u, mask, boundaries=boundaries)
                   if boundaries else self.pooling(u, mask))
            if self.modulation == 'residual_gate':
                u = u * (1.0 + torch.sigmoid(ctx))
            elif self.modulation == 'gate':
                u = u * torch.sigmoid(ctx)
            elif self.modulation == 'add':
                u = u + ctx
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
    per step and the steps are combined by the TSF. Because the layers
    before the first neuron are stateless, the first block's pre-activation
    and GLP are computed once on ``[B, L, C]`` and broadcast over ``T`` as a
    stride-0 view (which the dynamic-threshold neuron reads once), which
    equals repeating the input ``T`` times (with the default
    ``dropout_mode='shared'`` exactly: one dropout mask for all steps in
    every block). All neuron states are reset at the start of
    every forward, so a sample's output does not depend on earlier batches;
    padded tokens are zeroed before every layer, excluded from pooling
    windows / BN statistics / the token mean, and cannot change the valid
    tokens' outputs. When nothing is padded, no mask is applied at all.

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
        dropout_mode (str): ``'shared'`` (default [I], one mask for all
            ``T`` steps, spikingjelly ``layer.Dropout``) or ``'per_step'``;
            see :class:`SpikingBlock`.
        layer_type (str): ``'conv1d'`` (default, [S] "Conv+LIF blocks";
            along the tokens) or ``'linear'`` ([I], the earlier default).
        kernel_size (int): Conv1d kernel (odd). Default 1 [I]: a pointwise
            convolution, as Spikformer's Conv1d+BN+LIF blocks; at demo scale
            kernel 3 gives the same HM over 5 seeds
            (docs/ablations_seeds.md) at 3x the multiply-adds of the
            ``T``-step blocks.
        norm (str | None): ``'LN'`` (default [I]; per token, batch
            independent), ``'BN'`` (masked statistics) or None.
        modulation (str): see :class:`SpikingBlock`. Default
            ``'residual_gate'`` [S].
        windows_within_segments (bool): keep every local window (GLP and
            Conv1d) inside one segment of the joined sequence, i.e. inside
            one modality, given ``segment_ids``. Default True [I]: the
            sources say nothing; the audio and video steps are not temporal
            neighbours, so a window across their boundary would mix the
            last audio step with the first video step as if they were
            adjacent in time. False = windows straddle the boundary (the
            earlier behaviour). When no token is padded and every clip
            has the same segment layout (what :func:`join_modalities`
            gives without padding), the windows are clipped at the
            boundaries directly (:func:`segment_boundaries`; the blocks'
            ``boundaries``: whole-sequence Conv1d / pooling with the few
            boundary columns corrected, no gap tokens, no masks);
            otherwise half-window-many padded tokens are inserted at each
            boundary (:func:`insert_segment_gaps`). Both give the same
            outputs and gradients (up to float rounding) in evaluation or
            without dropout; in training their dropout masks are drawn
            for different shapes (``L`` vs ``L + gaps`` tokens), so one
            seed gives different masks on the two paths; the class
            attribute ``segment_fast_path = False`` forces the gap tokens.
        memory_saving (bool): activation checkpointing of every block in
            training (spikingjelly ``activation_based.memopt.checkpoint``,
            the spike inputs of blocks ``>= 1`` stored bit-packed by its
            ``BitSpikeCompressor``); the blocks' activations are recomputed
            in the backward pass (each block restarts from the reset neuron
            state, as in the forward pass). Same outputs and gradients,
            less memory, slower training step (paper widths, batch 64: peak
            RSS 2.89 -> 2.37 GB, SNN forward + backward ~1.4x as long; see
            docs/method.md "Our SNN branch, as implemented"). Default False
            [I].
        init_cfg (dict | None): mmengine init config.

    Forward:
        ``x [B, L, C]`` float, ``padding_mask [B, L]`` bool (True = padded)
        or None, ``segment_ids [B, L]`` int or None (one segment) ->
        ``dict(embedding=[B, D], step_outputs=[T, B, D])``:
        ``step_outputs[t, b]`` is the firing rate (spikes per token, in
        [0, 1]) of the last block at step ``t`` averaged over the valid
        tokens of sample ``b`` (0 when it has none); ``embedding`` is the
        TSF combination over steps.

    Raises:
        ValueError: bad sizes / options, ``x`` not ``[B, L, in_channels]``
            or a mask / segment ids not ``[B, L]``.
    """

    #: use :func:`segment_boundaries` (no gap tokens, no masks) when the
    #: batch allows it; False = always :func:`insert_segment_gaps`
    segment_fast_path = True

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
                 kernel_size: int = 1,
                 norm: Optional[str] = 'LN',
                 modulation: str = 'residual_gate',
                 windows_within_segments: bool = True,
                 memory_saving: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if time_steps < 1 or num_blocks < 1:
            raise ValueError('time_steps and num_blocks must be >= 1, got '
                             f'{time_steps}, {num_blocks}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.time_steps = int(time_steps)
        self.windows_within_segments = bool(windows_within_segments)
        self.memory_saving = bool(memory_saving)
        self.blocks = nn.ModuleList([
            SpikingBlock(in_channels if i == 0 else embed_dims, embed_dims,
                         layer_type=layer_type, kernel_size=kernel_size,
                         norm=norm, neuron=neuron, pooling=pooling,
                         modulation=modulation, dropout=dropout,
                         dropout_mode=dropout_mode)
            for i in range(num_blocks)
        ])
        if tsf is not None:
            tsf = copy.deepcopy(tsf)
            tsf.setdefault('time_steps', self.time_steps)
            tsf.setdefault('in_channels', embed_dims)
            self.tsf = MODELS.build(tsf)
        else:
            self.tsf = None

    def _check(self, x, padding_mask, segment_ids) -> None:
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(f'SNNBranch expects x [B, L, {self.in_channels}]'
                             f', got {tuple(x.shape)}')
        for name, t in (('padding_mask', padding_mask),
                        ('segment_ids', segment_ids)):
            if t is not None and t.shape != x.shape[:2]:
                raise ValueError(f'{name} must be [B, L] = '
                                 f'{tuple(x.shape[:2])}, got '
                                 f'{tuple(t.shape)}')

    def _run_block(self, index: int, s: torch.Tensor,
                   valid: Optional[torch.Tensor],
                   boundaries=None) -> torch.Tensor:
        block = self.blocks[index]
        steps = self.time_steps if index == 0 else None
        if not (self.memory_saving and self.training
                and torch.is_grad_enabled()):
            return block(s, valid, time_steps=steps, boundaries=boundaries)

        def run(inp):
            # the recomputation in the backward pass must start from the
            # same (reset) neuron state as the forward pass
            sj_functional.reset_net(block)
            return block(inp, valid, time_steps=steps, boundaries=boundaries)

        compressor = None if index == 0 else sj_memopt.BitSpikeCompressor()
        return sj_memopt.checkpoint(run, s, compressor=compressor)

    def forward(self, x: torch.Tensor,
                padding_mask: Optional[torch.Tensor] = None,
                segment_ids: Optional[torch.Tensor] = None) -> dict:
        self._check(x, padding_mask, segment_ids)
        sj_functional.reset_net(self)
        if padding_mask is not None:
            padding_mask = padding_mask.to(torch.bool)
        boundaries = None
        if segment_ids is not None and self.windows_within_segments:
            gap = max(block.half_window for block in self.blocks)
            if gap > 0 and self.segment_fast_path and all(
                    block.supports_boundaries for block in self.blocks):
                boundaries = segment_boundaries(segment_ids, padding_mask)
            if boundaries is None:  # padded or mixed layouts: gap tokens
                if padding_mask is None:
                    padding_mask = torch.zeros_like(segment_ids,
                                                    dtype=torch.bool)
                x, padding_mask = insert_segment_gaps(x, padding_mask,
                                                      segment_ids, gap)
        valid = None
        if padding_mask is not None and bool(padding_mask.any()):
            valid = ~padding_mask                                  # [B, L]
            x = x * valid.unsqueeze(-1).to(x.dtype)
        s = self._run_block(0, x, valid, boundaries)               # [T,B,L,D]
        for i in range(1, len(self.blocks)):
            s = self._run_block(i, s, valid, boundaries)
        if valid is None:
            step_outputs = s.mean(2)                               # [T,B,D]
        else:
            vmask = valid.unsqueeze(0).unsqueeze(-1).to(s.dtype)   # [1,B,L,1]
            count = vmask.sum(2).clamp_min(1.0)                    # [1,B,1]
            step_outputs = (s * vmask).sum(2) / count
        if self.tsf is not None:
            embedding = self.tsf(step_outputs)
        else:
            embedding = step_outputs.mean(0)
        return dict(embedding=embedding, step_outputs=step_outputs)
