"""AVCA-GZSL ``AVCA`` state dict -> stftbox ``AVCA`` state dict
(docs/baselines.md)."""
import re
from typing import Dict, Tuple

import torch

from .common import (PeerCheckpointError, bn_mlp_width, check_consumed,
                     move_prefix, need, take, width)

__all__ = ['convert_avca_state']

_NETS = {'A_enc.': 'backbone.audio_encoder.',
         'V_enc.': 'backbone.video_encoder.',
         'A_proj.': 'head.audio_proj.', 'V_proj.': 'head.video_proj.',
         'A_rec.': 'head.audio_decoder.', 'V_rec.': 'head.video_decoder.',
         'W_proj.': 'head.text_proj.', 'D.': 'head.text_decoder.'}


def convert_avca_state(state: Dict[str, torch.Tensor], num_heads: int = 3,
                       source: str = 'AVCA checkpoint'
                       ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map the peer's keys to ours and read the architecture from shapes.

    The widths and the depth come from the tensors; the number of heads
    (3 in the released code, which hard-codes it) cannot be read and is an
    argument.

    Args:
        state (dict): the peer ``state_dict`` (its own key names).
        num_heads (int): attention heads. Default 3.
        source (str): name used in error messages.

    Returns:
        tuple: ``(state_dict, model_cfg)`` (our keys; an ``AVCA`` config with
        the read widths, dropouts and momentum left at their defaults).

    Raises:
        PeerCheckpointError: missing or unexpected keys, a width not
            divisible by ``num_heads``, or nets without their hidden layer.
    """
    state = dict(state)
    out = {}
    enc_hidden = bn_mlp_width(state, 'A_enc.', source)
    dec_hidden = bn_mlp_width(state, 'A_proj.', source)
    if enc_hidden is None or dec_hidden is None:
        raise PeerCheckpointError(f'{source}: A_enc and A_proj must have a '
                                  'hidden layer (fc.4.weight)')
    audio_ch = width(state, 'A_enc.fc.0.weight', 1, source)
    video_ch = width(state, 'V_enc.fc.0.weight', 1, source)
    dims = need(state, 'A_enc.fc.4.weight', source).shape[0]
    dim_out = need(state, 'A_proj.fc.4.weight', source).shape[0]
    text_ch = width(state, 'W_proj.fc.0.weight', 1, source)
    for old, new in _NETS.items():
        if not move_prefix(state, old + 'fc.', new + 'layers.', out):
            raise PeerCheckpointError(f'{source}: no {old}fc.* keys')
    out['backbone.pos_embed'] = take(state, 'pos_emb1D', source)
    layer_ids = sorted({int(m.group(1)) for k in state
                        for m in [re.match(r'cross_attention\.layers\.(\d+)\.',
                                           k)] if m})
    if not layer_ids or layer_ids != list(range(len(layer_ids))):
        raise PeerCheckpointError(f'{source}: transformer layers '
                                  f'{layer_ids} are not 0..N-1')
    mlp = None
    for i in layer_ids:
        src, dst = f'cross_attention.layers.{i}.', f'backbone.blocks.{i}.'
        out[dst + 'attn.qkv.weight'] = take(state, src + '0.fn.to_qkv.weight',
                                            source)
        for p in ('weight', 'bias'):
            out[dst + 'norm1.' + p] = take(state, f'{src}0.norm.{p}', source)
            out[dst + 'attn.proj.' + p] = take(
                state, f'{src}0.fn.to_out.0.{p}', source)
            out[dst + 'norm2.' + p] = take(state, f'{src}1.norm.{p}', source)
            out[dst + 'mlp.fc1.' + p] = take(state, f'{src}1.fn.net.0.{p}',
                                             source)
            out[dst + 'mlp.fc2.' + p] = take(state, f'{src}1.fn.net.3.{p}',
                                             source)
        if out[dst + 'attn.qkv.weight'].shape != (3 * dims, dims):
            raise PeerCheckpointError(
                f'{source}: {src}0.fn.to_qkv.weight has shape '
                f"{tuple(out[dst + 'attn.qkv.weight'].shape)}, expected "
                f'({3 * dims}, {dims}) (heads x dim_head = width)')
        mlp = out[dst + 'mlp.fc1.weight'].shape[0]
    check_consumed(state, source)
    if num_heads <= 0 or dims % num_heads:
        raise PeerCheckpointError(f'{source}: width {dims} is not divisible '
                                  f'by num_heads={num_heads}')
    model_cfg = dict(
        type='AVCA',
        backbone=dict(type='AVCABackbone', audio_channels=int(audio_ch),
                      video_channels=int(video_ch), embed_dims=int(dims),
                      hidden_channels=int(enc_hidden),
                      num_layers=len(layer_ids), num_heads=int(num_heads),
                      mlp_dims=int(mlp)),
        head=dict(type='AVCAHead', in_channels=int(dims),
                  text_channels=int(text_ch), embed_dims=int(dim_out),
                  hidden_channels=int(dec_hidden)))
    return out, model_cfg


def avca_cfg_from_hparams(hparams: dict, model_cfg: dict) -> dict:
    """Fill the non-shape settings of ``model_cfg`` (from
    :func:`convert_avca_state`) from an AVCA ``params_model`` dict (the
    peer's names; the fixtures' ``hparams``): dropouts, BatchNorm momentum,
    loss switches and evaluation mode. Missing keys keep the defaults."""
    h = dict(hparams)
    cfg = {k: (dict(v) if isinstance(v, dict) else v)
           for k, v in model_cfg.items()}
    bb, head = cfg['backbone'], cfg['head']
    for peer, ours, where in [
            ('dropout_encoder', 'encoder_dropout', bb),
            ('momentum', 'momentum', bb), ('momentum', 'momentum', head),
            ('dropout_decoder', 'dropout', head),
            ('additional_dropout', 'text_dropout', head),
            ('first_additional_triplet', 'first_additional_triplet', head),
            ('second_additional_triplet', 'second_additional_triplet',
             head),
            ('eval_mode', 'eval_mode', head)]:
        if peer in h:
            where[ours] = h[peer]
    if h.get('additional_triplets_loss') is False:
        head['first_additional_triplet'] = 0
        head['second_additional_triplet'] = 0
    if 'reg_loss' in h:
        head['regression'] = bool(h['reg_loss'])
    return cfg
