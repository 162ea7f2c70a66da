"""Convert a AVMST checkpoint into an stftbox checkpoint.

    python tools/model_converters/avmst2stftbox.py PEER.pt OUT.pth [--beta B] [--time-steps T]

PEER.pt is a ``AVMST`` state dict with the peer's own keys (bare, or
under ``'model'``, or with a ``module.`` prefix). Widths are read from
the tensors. OUT.pth holds ``state_dict`` (our keys) and ``meta``
(source, the matching ``model_cfg``, optional calibration beta) and loads
with the weights-only loader of tools/test.py:

    python tools/test.py configs/baselines/avmst_ucf_main.py OUT.pth

See docs/baselines.md.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from peer2stftbox import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main('avmst'))
