"""Converters from the peers' checkpoints (TCaF-GZSL, AVCA-GZSL, ClipClap-GZSL,
AVMST, MSTR) to stftbox checkpoints; CLIs in tools/model_converters/."""
from .avca import avca_cfg_from_hparams, convert_avca_state
from .avmst import (avmst_cfg_from_hparams, convert_avmst_state,
                    convert_mstr_state)
from .clipclap import clipclap_cfg_from_hparams, convert_clipclap_state
from .common import (PeerCheckpointError, load_peer_checkpoint,
                     save_stftbox_checkpoint, unwrap_peer_state)
from .tcaf import convert_tcaf_state, tcaf_cfg_from_hparams

__all__ = ['convert_tcaf_state', 'convert_avca_state', 'PeerCheckpointError',
           'unwrap_peer_state', 'load_peer_checkpoint',
           'save_stftbox_checkpoint', 'tcaf_cfg_from_hparams',
           'avca_cfg_from_hparams', 'convert_peer_checkpoint',
           'convert_clipclap_state', 'clipclap_cfg_from_hparams',
           'convert_avmst_state', 'convert_mstr_state',
           'avmst_cfg_from_hparams', 'PEER_NAMES']

#: peers that :func:`convert_peer_checkpoint` converts
PEER_NAMES = ('tcaf', 'avca', 'clipclap', 'avmst', 'mstr')


def convert_peer_checkpoint(obj, peer: str, num_heads=None,
                            source: str = 'checkpoint',
                            time_steps=None) -> tuple:
    """Whole-file conversion: ``obj`` is a loaded peer checkpoint (bare state
    dict, ``{'model': ...}`` as the peers save, or a reference fixture with
    ``hparams``); ``peer`` is one of :data:`PEER_NAMES`. ``num_heads``:
    TCaF / AVCA heads; ``time_steps``: AVMST / MSTR ``T`` (read from the
    file's ``hparams`` when it has them, else 10).

    Returns:
        tuple: ``(state_dict, model_cfg)`` with our keys and a model config
        whose widths come from the tensors and whose other settings come
        from the checkpoint's ``hparams`` when it has them.

    Raises:
        PeerCheckpointError: see :func:`convert_tcaf_state` /
            :func:`convert_avca_state`; an unknown ``peer``.
    """
    state = unwrap_peer_state(obj, source)
    hparams = obj.get('hparams') if isinstance(obj, dict) else None
    if peer == 'tcaf':
        if num_heads is None and hparams:
            num_heads = hparams.get('transformer_heads')
        sd, cfg = convert_tcaf_state(state, num_heads, source)
        return sd, (tcaf_cfg_from_hparams(hparams, cfg) if hparams else cfg)
    if peer == 'avca':
        sd, cfg = convert_avca_state(state, num_heads or 3, source)
        return sd, (avca_cfg_from_hparams(hparams, cfg) if hparams else cfg)
    if peer == 'clipclap':
        sd, cfg = convert_clipclap_state(state, source=source)
        return sd, (clipclap_cfg_from_hparams(hparams, cfg) if hparams
                    else cfg)
    if peer in ('avmst', 'mstr'):
        if time_steps is None:
            time_steps = (hparams or {}).get('snn_time_steps', 10)
        conv = convert_avmst_state if peer == 'avmst' else convert_mstr_state
        sd, cfg = conv(state, int(time_steps), source)
        return sd, (avmst_cfg_from_hparams(hparams, cfg) if hparams else cfg)
    raise PeerCheckpointError(f'peer must be one of {PEER_NAMES}, got '
                              f'{peer!r}')
