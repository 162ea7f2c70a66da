"""Fusions of the SNN-branch output ``s`` and the transformer-branch output
``r`` (registry ``FUSIONS``). Common interface: ``forward(r [..., d_r],
s [..., d_s]) -> [..., d_o]`` with broadcasting leading dims."""
from .tucker_fusion import TuckerFusion  # noqa: F401
from .simple_fusions import BilinearFusion, ConcatFusion  # noqa: F401
from .multi_scale_fusion import MultiScaleFusion  # noqa: F401

__all__ = ['TuckerFusion', 'ConcatFusion', 'BilinearFusion',
           'MultiScaleFusion']
