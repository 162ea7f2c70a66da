"""AVMST (liwr-hit/ICME23_AVMST) and MSTR (xia-zhe/MSTR) state dicts ->
stftbox ``AVMST`` / ``MSTR`` state dicts (docs/baselines.md).

Both peers are AVCA plus extra modules; the AVCA part goes through
:func:`convert_avca_state`."""
from typing import Dict, Tuple

import torch

from .avca import avca_cfg_from_hparams, convert_avca_state
from .common import PeerCheckpointError, move_prefix, need, take

__all__ = ['convert_avmst_state', 'convert_mstr_state',
           'avmst_cfg_from_hparams']


def _spiking_branches(state: dict, out: dict, source: str) -> int:
    for peer, ours in (('SNNbranchaudio.fc.', 'backbone.audio_snn.layers.'),
                       ('SNNbranchvideo.fc.', 'backbone.video_snn.layers.')):
        if not move_prefix(state, peer, ours, out):
            raise PeerCheckpointError(f'{source}: no {peer}* keys')
    return int(need(out, 'backbone.audio_snn.layers.0.weight',
                    source).shape[0])


def _avca_part(state: dict, out: dict, source: str) -> dict:
    sd, cfg = convert_avca_state(state, 3, source)
    for k, v in sd.items():
        out[k.replace('backbone.blocks.', 'backbone.transformer.')] = v
    return cfg


def convert_avmst_state(state: Dict[str, torch.Tensor],
                        time_steps: int = 10,
                        source: str = 'AVMST checkpoint'
                        ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map the released ``AVMST``'s keys to ours; widths and depth from the
    tensors. ``time_steps`` (10, hard-coded in the peer) is not in the
    weights.

    Returns:
        tuple: ``(state_dict, model_cfg)``.

    Raises:
        PeerCheckpointError: missing or unexpected keys; a spiking hidden
            width other than the encoders'.
    """
    state, out = dict(state), {}
    snn_hidden = _spiking_branches(state, out, source)
    cfg = _avca_part(state, out, source)
    return out, _avmst_cfg(cfg, snn_hidden, time_steps, 'AVMST',
                           'AVMSTFusionBackbone', source)


def _avmst_cfg(cfg: dict, snn_hidden: int, time_steps: int, model: str,
               backbone: str, source: str) -> dict:
    bb = dict(cfg['backbone'], type=backbone, time_steps=int(time_steps))
    if snn_hidden != bb['hidden_channels']:
        raise PeerCheckpointError(
            f'{source}: spiking hidden width {snn_hidden} differs from the '
            f"encoders' {bb['hidden_channels']} (one width in the peer)")
    return dict(type=model, backbone=bb, head=dict(cfg['head']))


def convert_mstr_state(state: Dict[str, torch.Tensor],
                       time_steps: int = 10,
                       source: str = 'MSTR checkpoint'
                       ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map the released ``MSTR``'s keys to ours; widths, depth and Tucker
    ranks from the tensors (``time_steps`` as in
    :func:`convert_avmst_state`).

    Raises:
        PeerCheckpointError: missing or unexpected keys; regression layers
            whose shapes do not fit the audio/video widths.
    """
    state, out = dict(state), {}
    ranks = None
    for peer, ours in (('trl_a.', 'backbone.trl_audio.'),
                       ('trl_v.', 'backbone.trl_video.')):
        core = take(state, peer + 'core', source)
        out[ours + 'core'] = core
        out[ours + 'bias'] = take(state, peer + 'bias', source)
        for i in range(core.dim()):
            out[f'{ours}factors.{i}'] = take(state, f'{peer}factor_{i}',
                                             source)
        if ranks is not None and tuple(core.shape) != ranks:
            raise PeerCheckpointError(f'{source}: trl_a and trl_v ranks '
                                      'differ')
        ranks = tuple(core.shape)
    out['backbone.pos_embed_t'] = take(state, 'pos_emb1D_t', source)
    snn_hidden = _spiking_branches(state, out, source)
    cfg = _avca_part(state, out, source)
    cfg = _avmst_cfg(cfg, snn_hidden, time_steps, 'MSTR', 'MSTRBackbone',
                     source)
    bb = cfg['backbone']
    for mod, ch in (('trl_audio', bb['audio_channels']),
                    ('trl_video', bb['video_channels'])):
        f0 = out[f'backbone.{mod}.factors.0']
        f3 = out[f'backbone.{mod}.factors.3']
        if f0.shape[0] != ch or f3.shape[0] != bb['embed_dims']:
            raise PeerCheckpointError(
                f'{source}: {mod} maps {f0.shape[0]} -> {f3.shape[0]}, '
                f"expected {ch} -> {bb['embed_dims']}")
    bb['tensor_ranks'] = [int(r) for r in ranks]
    return out, cfg


def avmst_cfg_from_hparams(hparams: dict, model_cfg: dict) -> dict:
    """:func:`avca_cfg_from_hparams` for AVMST / MSTR, plus
    ``snn_time_steps`` (the fixtures' name for the peer's ``T``)."""
    cfg = avca_cfg_from_hparams(hparams, model_cfg)
    if 'snn_time_steps' in hparams:
        cfg['backbone']['time_steps'] = int(hparams['snn_time_steps'])
    return cfg
