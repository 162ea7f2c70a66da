"""Converters from the peers' checkpoints (TCaF-GZSL, AVCA-GZSL) to stftbox
checkpoints; CLIs in tools/model_converters/."""
from .avca import avca_cfg_from_hparams, convert_avca_state
from .common import (PeerCheckpointError, load_peer_checkpoint,
                     save_stftbox_checkpoint, unwrap_peer_state)
from .tcaf import convert_tcaf_state, tcaf_cfg_from_hparams

__all__ = ['convert_tcaf_state', 'convert_avca_state', 'PeerCheckpointError',
           'unwrap_peer_state', 'load_peer_checkpoint',
           'save_stftbox_checkpoint', 'tcaf_cfg_from_hparams',
           'avca_cfg_from_hparams', 'convert_peer_checkpoint']


def convert_peer_checkpoint(obj, peer: str, num_heads=None,
                            source: str = 'checkpoint') -> tuple:
    """Whole-file conversion: ``obj`` is a loaded peer checkpoint (bare state
    dict, ``{'model': ...}`` as the peers save, or a reference fixture with
    ``hparams``); ``peer`` is ``'tcaf'`` or ``'avca'``.

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
    raise PeerCheckpointError(f"peer must be 'tcaf' or 'avca', got {peer!r}")
