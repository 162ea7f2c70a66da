"""Convert a TCaF-GZSL checkpoint into an stftbox checkpoint.

    python tools/model_converters/tcaf2stftbox.py PEER.pt OUT.pth \
        [--num-heads 8] [--beta B]

PEER.pt is a ``Multimodal_Sequence_Transformer`` state dict with the peer's
own keys (bare, or under ``'model'`` as its ``save_best_model`` writes it).
Widths and depth are read from the tensors; the number of heads from the
file's ``hparams`` or ``--num-heads``. OUT.pth holds ``state_dict`` (our
keys) and ``meta`` (source, the matching ``model_cfg``, optional
calibration beta) and loads with the weights-only loader of tools/test.py:

    python tools/test.py configs/baselines/tcaf_ucf.py OUT.pth

See docs/baselines.md.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from peer2stftbox import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main('tcaf'))
