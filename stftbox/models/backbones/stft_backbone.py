"""STFT backbone: encoders -> SNN branch + transformer branch -> fusion.

Spiking Tucker Fusion Transformer (Li, Wang, Xiong, Fan, IEEE TIP 33, 2024,
arXiv 2407.08130); data flow as in docs/method.md: per-modality encoders [S],
a temporal SNN branch and a semantic transformer branch on the same encoded
tokens, temporal-semantic Tucker fusion at several scales [A], and an
optional reconstruction loss of the encoder inputs [P].
"""
import copy
from typing import Optional

import torch
from stftbox.registry import FUSIONS, MODELS

from .snn_branch import join_modalities
from .two_stream import TwoStreamBackbone, fill_cfg as _fill
from .two_stream import masked_mse  # noqa: F401 (re-exported)

_STEP_WEIGHTINGS = ('tsf', 'mean')
_SNN_INPUTS = ('per_modality', 'joined')


@MODELS.register_module()
class STFTBackbone(TwoStreamBackbone):
    """Spiking Tucker Fusion Transformer backbone (STFT, Fig. 2; [A]/[S]).

    1. ``ModalityEncoder`` per modality: ``audio [B, La, Da] -> [B, La, d]``,
       ``video [B, Lv, Dv] -> [B, Lv, d]`` [S].
    2. SNN branch (temporal): the encoded audio and video token sequences,
       each through the same spiking blocks (``snn_input='per_modality'``)
       -> ``s [B, d_s]`` and step outputs ``[T, B, d_s]`` [A].
    3. Transformer branch (semantic): the encoded tokens per modality ->
       ``r [B, d]`` [S].
    4. Fusion of ``r`` and ``s``: ``MultiScaleFusion`` around ``fusion``
       (pooled + per-step scales, [A]/[I]) or, with ``multi_scale=None``,
       ``fusion(r, s)`` alone -> ``embedding [B, E]``.
    5. Optional reconstruction loss [P] (AVCA-style): a decoder per
       modality maps the encoded tokens back to the input features;
       ``loss_input_reconstruction = w * (MSE_a + MSE_v)`` over valid steps.
    6. ``modality_embeddings``: the transformer branch's audio and video
       tokens, each averaged over its valid steps, for the per-modality
       projection loss [P] of the head.

    Every part is built from a registry by ``type=``; widths are filled into
    the sub-configs when absent (``in_channels``, ``embed_dims``,
    ``r_channels``, ``s_channels``, ``out_channels``).

    Args:
        audio_channels (int): audio feature width ``D_a``.
        video_channels (int): video feature width ``D_v``.
        embed_dims (int): encoder / transformer width ``d``. Default 512 [S].
        encoder (dict): MODELS config of the per-modality encoder
            (``in_channels``, ``embed_dims`` filled). Default
            ``dict(type='ModalityEncoder')`` [S].
        snn_branch (dict): MODELS config of the SNN branch (``in_channels =
            embed_dims``; ``embed_dims`` = ``d_s`` defaults to ``d``).
            Default ``dict(type='SNNBranch')`` [A].
        transformer_branch (dict): MODELS config of the transformer branch.
            Default ``dict(type='TransformerBranch')`` [S].
        fusion (dict): FUSIONS config (``forward(r, s)``). Default
            ``dict(type='TuckerFusion')`` (ranks 60 [S]).
        multi_scale (dict, optional): extra arguments of the multi-scale
            wrapper (``type`` defaults to ``'MultiScaleFusion'``; ``fusion``
            and widths are filled in); None = single-scale ``fusion(r, s)``.
            Default ``dict(scales=['pooled', 'steps'], combine='sum')`` [I].
        snn_input (str): ``'per_modality'`` (default [I]: audio and video
            run through the SNN blocks as two sequences, so no local window
            mixes the last audio step with the first video step) or
            ``'joined'`` (one sequence ``[audio, video]`` per clip, windows
            straddle the boundary).
        backend (str): ``'auto'`` (default), ``'torch'`` or ``'fused'``:
            the backend of the input reconstruction with tied decoders
            (``'fused'``: :func:`stftbox.ops.tied_reconstruction.
            tied_reconstruction_mse`; ``'torch'``: decode + masked MSE).
            The SNN branch has its own ``backend``.
        step_weighting (str): weights of the per-step scale: ``'tsf'`` = the
            SNN branch's own step weights (``snn['step_weights']`` if it
            returns them, else ``snn_branch.tsf.weights(step_outputs)``, else
            the mean when the branch has no TSF) or ``'mean'``.
            Default ``'tsf'`` [I].
        out_channels (int): embedding width ``E``. Default 512 [I].
        reconstruction_weight (float): weight of the input reconstruction
            loss; 0 builds no decoders and returns no loss. Default 0.5 [S].
        decoder (str): input decoders, ``'tied'`` (transpose of the
            encoder weight + bias: 4,224 parameters at 128 / 4096 inputs
            instead of 2.17 M for ``'linear'``), ``'linear'`` or
            ``'bottleneck'`` (see ``TwoStreamBackbone.build_decoders``).
            Default ``'tied'`` [I].
        decoder_hidden_dims (int): hidden width of ``'bottleneck'``.
            Default 64 [I].
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        ``audio [B, La, Da]``, ``video [B, Lv, Dv]`` (float), masks
        ``[B, La]`` / ``[B, Lv]`` bool (True = padded; None = all valid)
        -> ``dict(embedding=[B, E], losses=dict(...), snn=dict(embedding=
        [B, d_s], step_outputs=[T, B, d_s], ...), transformer=dict(
        embedding=[B, d], tokens=[B, L, d], ...))``.

    Raises:
        ValueError: on an unknown ``step_weighting``, a negative
            ``reconstruction_weight``, an unknown ``decoder``, or a
            sub-config width that contradicts
            the backbone's (e.g. transformer ``embed_dims != embed_dims``).
    """

    def __init__(self, audio_channels: int, video_channels: int,
                 embed_dims: int = 512,
                 encoder: dict = dict(type='ModalityEncoder'),
                 snn_branch: dict = dict(type='SNNBranch'),
                 transformer_branch: dict = dict(type='TransformerBranch'),
                 fusion: dict = dict(type='TuckerFusion'),
                 multi_scale: Optional[dict] = dict(
                     scales=['pooled', 'steps'], combine='sum'),
                 snn_input: str = 'per_modality',
                 step_weighting: str = 'tsf',
                 out_channels: int = 512,
                 reconstruction_weight: float = 0.5,
                 decoder: str = 'tied', decoder_hidden_dims: int = 64,
                 backend: str = 'auto',
                 init_cfg: Optional[dict] = None) -> None:
        if snn_input not in _SNN_INPUTS:
            raise ValueError(f'snn_input must be one of {_SNN_INPUTS}, got '
                             f'{snn_input!r}')
        self.snn_input = snn_input
        if step_weighting not in _STEP_WEIGHTINGS:
            raise ValueError(f'step_weighting must be one of '
                             f'{_STEP_WEIGHTINGS}, got {step_weighting!r}')
        super().__init__(audio_channels, video_channels, embed_dims, encoder,
                         reconstruction_weight, backend=backend,
                         init_cfg=init_cfg)
        self.out_channels = out_channels
        self.step_weighting = step_weighting
        snn_cfg = _fill(snn_branch, dict(in_channels=embed_dims),
                        dict(embed_dims=embed_dims, backend=backend),
                        'snn_branch')
        self.snn_branch = MODELS.build(snn_cfg)
        self.transformer_branch = MODELS.build(_fill(
            transformer_branch, dict(embed_dims=embed_dims), {},
            'transformer_branch'))
        widths = dict(r_channels=embed_dims,
                      s_channels=snn_cfg['embed_dims'],
                      out_channels=out_channels)
        if multi_scale is None:
            self.fusion = FUSIONS.build(_fill(fusion, widths, {}, 'fusion'))
        else:
            ms_cfg = _fill(multi_scale, widths,
                           dict(type='MultiScaleFusion'), 'multi_scale')
            ms_cfg['fusion'] = copy.deepcopy(dict(fusion))
            self.fusion = FUSIONS.build(ms_cfg)
        self.multi_scale = multi_scale is not None
        self.build_decoders(decoder, decoder_hidden_dims)

    def _step_weights(self, snn: dict) -> Optional[torch.Tensor]:
        """Weights ``[T, B]`` for the per-step scale, or None (mean)."""
        if self.step_weighting == 'mean':
            return None
        if snn.get('step_weights') is not None:
            return snn['step_weights']
        tsf = getattr(self.snn_branch, 'tsf', None)
        if tsf is not None and hasattr(tsf, 'weights'):
            return tsf.weights(snn['step_outputs'])
        return None

    def forward(self, audio: torch.Tensor, video: torch.Tensor,
                audio_padding_mask: Optional[torch.Tensor] = None,
                video_padding_mask: Optional[torch.Tensor] = None,
                with_losses: bool = True) -> dict:
        """Embed a batch of clips; see the class docstring for shapes.
        ``with_losses=False`` skips the reconstruction loss (``losses`` is
        then empty; prediction does not need it)."""
        am, vm = self.default_masks(audio, video, audio_padding_mask,
                                    video_padding_mask)
        a, a_lin = self.encode('audio', audio, am, with_losses)  # [B,La,d]
        v, v_lin = self.encode('video', video, vm, with_losses)  # [B,Lv,d]

        if self.snn_input == 'per_modality':
            snn = self.snn_branch((a, v), (am, vm))
        else:
            snn = self.snn_branch(*join_modalities(a, v, am, vm))
        trans = self.transformer_branch(a, v, am, vm)
        r, s = trans['embedding'], snn['embedding']
        if self.multi_scale:
            embedding = self.fusion(r, s, snn['step_outputs'],
                                    self._step_weights(snn))
        else:
            embedding = self.fusion(r, s)

        losses = (self.reconstruction_losses(
            a, v, audio, video, am, vm, dict(audio=a_lin, video=v_lin))
            if with_losses else {})
        return dict(embedding=embedding, losses=losses, snn=snn,
                    transformer=trans,
                    modality_embeddings=trans.get('modality_embeddings'))
