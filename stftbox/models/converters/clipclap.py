"""ClipClap-GZSL ``ClipClap_model`` state dict -> stftbox ``ClipClap``
state dict (docs/baselines.md)."""
from typing import Dict, Tuple

import torch

from .common import (PeerCheckpointError, bn_mlp_width, check_consumed,
                     move_prefix, need, width)

__all__ = ['convert_clipclap_state', 'clipclap_cfg_from_hparams']

_NETS = {'O_enc.': 'backbone.encoder.', 'W_enc.': 'head.text_encoder.',
         'O_proj.': 'head.clip_proj.', 'D_o.': 'head.clip_decoder.',
         'W_proj.': 'head.text_proj.', 'D_w.': 'head.text_decoder.'}


def convert_clipclap_state(state: Dict[str, torch.Tensor],
                           video_channels: int = 512,
                           source: str = 'ClipClap checkpoint'
                           ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map the peer's keys to ours and read the architecture from shapes.

    ``O_enc`` sees ``cat(video, audio)``; the weights give only the sum of
    the two widths, so the video width (512 for CLIP ViT-B/32 in the
    released code) is an argument and the audio width is the rest.

    Args:
        state (dict): the peer ``state_dict`` (its own key names).
        video_channels (int): video width. Default 512.
        source (str): name used in error messages.

    Returns:
        tuple: ``(state_dict, model_cfg)`` (our keys; a ``ClipClap`` config
        with the read widths).

    Raises:
        PeerCheckpointError: missing or unexpected keys, or shapes that do
            not fit together.
    """
    state = dict(state)
    enc_in = width(state, 'O_enc.fc.0.weight', 1, source)
    dims = width(state, 'O_enc.fc.0.weight', 0, source)
    text_ch = width(state, 'W_enc.fc.0.weight', 1, source)
    hidden = bn_mlp_width(state, 'O_proj.', source)
    if hidden is None:
        raise PeerCheckpointError(f'{source}: O_proj must have a hidden '
                                  'layer (O_proj.fc.4.weight)')
    dim_out = need(state, 'O_proj.fc.4.weight', source).shape[0]
    if enc_in <= video_channels:
        raise PeerCheckpointError(
            f'{source}: O_enc.fc.0.weight takes {enc_in} inputs, not more '
            f'than video_channels={video_channels}')
    if width(state, 'W_enc.fc.0.weight', 0, source) != dims:
        raise PeerCheckpointError(f'{source}: O_enc and W_enc widths differ')
    out = {}
    for old, new in _NETS.items():
        if not move_prefix(state, old + 'fc.', new + 'layers.', out):
            raise PeerCheckpointError(f'{source}: no {old}fc.* keys')
    check_consumed(state, source)
    cfg = dict(type='ClipClap',
               backbone=dict(type='ClipClapBackbone',
                             audio_channels=int(enc_in - video_channels),
                             video_channels=int(video_channels),
                             embed_dims=int(dims)),
               head=dict(type='ClipClapHead', in_channels=int(dims),
                         text_channels=int(text_ch),
                         embed_dims=int(dim_out),
                         hidden_channels=int(hidden)))
    return out, cfg


def clipclap_cfg_from_hparams(hparams: dict, model_cfg: dict) -> dict:
    """Fill the non-shape settings of ``model_cfg`` from a ClipClap
    ``params_model`` dict (the peer's names; the fixtures' ``hparams``):
    decoder and text dropouts, loss switches, ``word_embeddings`` (with
    ``'wavcaps'`` named ``'clap'`` here). Missing keys keep the defaults."""
    h = dict(hparams)
    cfg = {k: (dict(v) if isinstance(v, dict) else v)
           for k, v in model_cfg.items()}
    head = cfg['head']
    for peer, ours in [('dropout_decoder', 'dropout'),
                       ('additional_dropout', 'text_dropout'),
                       ('rec_loss', 'reconstruction'),
                       ('reg_loss', 'regression'),
                       ('cross_entropy_loss', 'cross_entropy')]:
        if peer in h:
            head[ours] = h[peer]
    if 'clip_text_dim' in h:
        head['clip_text_channels'] = int(h['clip_text_dim'])
    we = h.get('word_embeddings')
    if we is not None:
        we = dict(wavcaps='clap').get(we, we)
        head['word_embeddings'] = we
        if we != 'both':  # the checkpoint's width is the sliced one
            head['text_channels'] = int(h.get('word_embedding_dim',
                                              head['text_channels']))
    return cfg
