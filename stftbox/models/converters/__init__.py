"""Converters from the peers' checkpoints (TCaF-GZSL, AVCA-GZSL) to stftbox
checkpoints; CLIs in tools/model_converters/."""
from .avca import convert_avca_state
from .common import (PeerCheckpointError, load_peer_checkpoint,
                     save_stftbox_checkpoint, unwrap_peer_state)
from .tcaf import convert_tcaf_state

__all__ = ['convert_tcaf_state', 'convert_avca_state', 'PeerCheckpointError',
           'unwrap_peer_state', 'load_peer_checkpoint',
           'save_stftbox_checkpoint']
