"""TCaF-GZSL ``Multimodal_Sequence_Transformer`` state dict -> stftbox
``TCaF`` state dict (docs/baselines.md)."""
import re
from typing import Dict, Optional, Tuple

import torch

from .common import (PeerCheckpointError, bn_mlp_width, check_consumed,
                     move_prefix, need, shape, take, width)

__all__ = ['convert_tcaf_state']

#: peer embedding nets -> stftbox BNMLP modules
_NETS = {'A_enc.': 'backbone.audio_encoder.',
         'V_enc.': 'backbone.video_encoder.',
         'O_proj.': 'head.clip_proj.', 'D_o.': 'head.clip_decoder.',
         'W_proj.': 'head.text_proj.', 'D_w.': 'head.text_decoder.'}
_EMB = 'position_encoder_block.'
_ALIAS = 'audiovisual_embeddings.'


def convert_tcaf_state(state: Dict[str, torch.Tensor],
                       num_heads: Optional[int] = None,
                       source: str = 'TCaF checkpoint'
                       ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map the peer's keys to ours and read the architecture from shapes.

    Supported: the released architecture with embedding nets, class token,
    sinusoid (Fourier) time embedding with modality embedding, no spatial
    embedding (every best config). The widths (inputs, hidden, transformer,
    time embedding, MLP, output) and the depth come from the tensors; the
    number of heads cannot (``to_q`` is ``[heads * dim_head, d]``) and must
    be given.

    Args:
        state (dict): the peer ``state_dict`` (its own key names).
        num_heads (int): attention heads (``transformer_heads``).
        source (str): name used in error messages.

    Returns:
        tuple: ``(state_dict, model_cfg)``: our keys (``backbone.*``,
        ``head.*``) and a ``TCaF`` model config with the read widths
        (dropouts and step seconds are left at their defaults).

    Raises:
        PeerCheckpointError: missing or unexpected keys, inconsistent shapes,
            ``num_heads`` missing or not dividing the attention width, or
            the two aliases of the embedding block holding different values.
    """
    state = dict(state)
    out = {}
    # the embedding block is registered under two names (shared storage)
    for key in [k for k in state if k.startswith(_ALIAS)]:
        twin = _EMB + key[len(_ALIAS):]
        alias = state.pop(key)
        if twin in state and not torch.equal(state[twin], alias):
            raise PeerCheckpointError(
                f'{source}: {key} and {twin} differ; they should be one '
                'module registered twice')
        state.setdefault(twin, alias)
    for key in ('time_embedding.weight', 'pe_row.weight',
                'out_proj_cls_token.weight'):
        if _EMB + key in state:
            raise PeerCheckpointError(
                f'{source}: {_EMB}{key} belongs to a TCaF variant that is '
                'not supported (only the sinusoid time embedding without '
                'spatial or class-token embedding of the best configs)')
    hidden = bn_mlp_width(state, 'A_enc.', source)
    audio_ch = width(state, 'A_enc.fc.0.weight', 1, source)
    video_ch = width(state, 'V_enc.fc.0.weight', 1, source)
    dec_hidden = bn_mlp_width(state, 'O_proj.', source)
    if hidden is None or dec_hidden is None:
        raise PeerCheckpointError(
            f'{source}: A_enc and O_proj must have a hidden layer '
            '(fc.4.weight)')
    dims = need(state, 'A_enc.fc.4.weight', source).shape[0]
    dim_out = width(state, 'O_proj.fc.4.weight', 0, source)
    text_ch = width(state, 'W_proj.fc.0.weight', 1, source)
    for old, new in _NETS.items():
        if not move_prefix(state, old + 'fc.', new + 'layers.', out):
            raise PeerCheckpointError(f'{source}: no {old}fc.* keys')
    out['backbone.cls_token'] = take(state, 'cls_token', source)
    emb = 'backbone.token_embedding.'
    out[emb + 'fourier_randn'] = take(state, _EMB + 'fourier_randn', source)
    out[emb + 'modal_embedding.weight'] = take(
        state, _EMB + 'modal_embedding.weight', source)
    time_dims = out[emb + 'modal_embedding.weight'].shape[1]
    out[emb + 'pad_embedding.weight'] = take(
        state, _EMB + 'pad_embedding.weight', source)
    for p in ('weight', 'bias'):
        out[emb + 'time_proj.' + p] = take(
            state, _EMB + 'fourier_embeddings.' + p, source)
        for m in ('audio', 'video'):
            t = take(state, f'{_EMB}out_proj_{m}.{p}', source)
            if p == 'weight':  # Conv1d(kernel 1) -> Linear
                shape(t, 3, f'out_proj_{m}.weight', source)
                t = t[..., 0]
            out[f'{emb}{m}_proj.{p}'] = t
    layer_ids = sorted({int(m.group(1)) for k in state
                        for m in [re.match(
                            r'Audio_visual_transformer\.layers\.(\d+)\.', k)]
                        if m})
    if not layer_ids or layer_ids != list(range(len(layer_ids))):
        raise PeerCheckpointError(f'{source}: transformer layers '
                                  f'{layer_ids} are not 0..N-1')
    inner = mlp = None
    for i in layer_ids:
        src, dst = f'Audio_visual_transformer.layers.{i}.', \
            f'backbone.layers.{i}.'
        q, k, v = (take(state, f'{src}attn.to_{n}.weight', source)
                   for n in 'qkv')
        if not q.shape == k.shape == v.shape:
            raise PeerCheckpointError(f'{source}: layer {i} q/k/v shapes '
                                      'differ')
        inner = q.shape[0]
        out[dst + 'attn.q.weight'] = q
        out[dst + 'attn.k.weight'] = k
        out[dst + 'attn.v.weight'] = v
        for p in ('weight', 'bias'):
            out[dst + 'attn.proj.' + p] = take(
                state, f'{src}attn.to_out.0.{p}', source)
            out[dst + 'mlp.fc1.' + p] = take(state, f'{src}ff.net.0.{p}',
                                             source)
            out[dst + 'mlp.fc2.' + p] = take(state, f'{src}ff.net.3.{p}',
                                             source)
            out[dst + 'norm.' + p] = take(state, f'{src}norm.{p}', source)
        mlp = out[dst + 'mlp.fc1.weight'].shape[0]
    check_consumed(state, source)
    if num_heads is None:
        raise PeerCheckpointError(
            f'{source}: the number of attention heads is not stored in the '
            'weights; pass it (--num-heads, the run\'s transformer_heads)')
    if num_heads <= 0 or inner % num_heads:
        raise PeerCheckpointError(
            f'{source}: attention width {inner} is not divisible by '
            f'num_heads={num_heads}')
    model_cfg = dict(
        type='TCaF',
        backbone=dict(type='TCaFBackbone', audio_channels=int(audio_ch),
                      video_channels=int(video_ch), embed_dims=int(dims),
                      hidden_channels=int(hidden),
                      time_embed_dims=int(time_dims),
                      num_layers=len(layer_ids), num_heads=int(num_heads),
                      head_dims=int(inner // num_heads), mlp_dims=int(mlp)),
        head=dict(type='TCaFHead', in_channels=int(dims),
                  text_channels=int(text_ch), embed_dims=int(dim_out),
                  hidden_channels=int(dec_hidden)))
    return out, model_cfg


def tcaf_cfg_from_hparams(hparams: dict, model_cfg: dict) -> dict:
    """Fill the non-shape settings of ``model_cfg`` (from
    :func:`convert_tcaf_state`) from a TCaF ``params_model`` dict (the
    peer's names; the fixtures' ``hparams``). Unknown keys are ignored;
    missing keys keep the defaults.

    Raises:
        PeerCheckpointError: a setting our model does not implement
            (self-attention only, no class token, fixed time embedding,
            audio/video only, averaged features).
    """
    h = dict(hparams)
    unsupported = dict(transformer_use_class_token=False,
                       transformer_average_features=True,
                       audio_only=True, video_only=True,
                       transformer_use_embedding_net=False,
                       embeddings_batch_norm=False,
                       transformer_embedding_modality=False,
                       transformer_embedding_embed_augment_position=True)
    for key, bad in unsupported.items():
        if key in h and h[key] == bad:
            raise PeerCheckpointError(f'TCaF hparams: {key}={bad} is not '
                                      'supported by stftbox TCaF')
    if h.get('transformer_embedding_time_embed_type',
             'sinusoid') != 'sinusoid':
        raise PeerCheckpointError(
            'TCaF hparams: only transformer_embedding_time_embed_type='
            "'sinusoid' is supported")
    if not h.get('transformer_attention_use_cross_attention', True):
        raise PeerCheckpointError('TCaF hparams: self-attention-only layers '
                                  'are not supported')
    cfg = {k: (dict(v) if isinstance(v, dict) else v)
           for k, v in model_cfg.items()}
    bb, head = cfg['backbone'], cfg['head']
    for peer, ours, where in [
            ('dropout_encoder', 'encoder_dropout', bb),
            ('transformer_embedding_dropout', 'time_embed_dropout', bb),
            ('transformer_embedding_fourier_scale', 'fourier_scale', bb),
            ('transformer_dropout', 'dropout', bb),
            ('collate_rate_audio', 'audio_step_seconds', bb),
            ('collate_rate_video', 'video_step_seconds', bb),
            ('dropout_decoder', 'dropout', head),
            ('additional_dropout', 'text_dropout', head)]:
        if peer in h:
            where[ours] = h[peer]
    if 'transformer_attention_use_self_attention' in h:
        bb['cross_attention_only'] = not h[
            'transformer_attention_use_self_attention']
    if h.get('cross_entropy_loss') is False:
        head['cross_entropy'] = None
    if h.get('reg_loss') is False:
        head['regression'] = None
    if h.get('rec_loss') is False:
        head['reconstruction_weight'] = 0.0
    return cfg
