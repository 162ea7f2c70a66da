"""Peer baselines, apart from STFT's parts: TCaF (ECCV 2022), AVCA (CVPR
2022), our SpikingAVCA variant (AVCA + an SNN branch on the encoded tokens;
not the released AVMST), the mean-pool encoder of the simplest baseline, and
the exact ports of ClipClap-GZSL (CVPRW 2024), AVMST (ICME 2023) and MSTR
(Neurocomputing 2025). Each peer is one small sub-package or module
(backbone / head / classifier)."""
from .bn_mlp import BNMLP
from .mean_pool import MeanPoolAVEncoder, masked_mean
from .tcaf import TCaF, TCaFBackbone, TCaFHead
from .avca import AVCA, AVCABackbone, AVCAHead, sample_negatives
from .spiking_avca import SpikingAVCA, SpikingAVCABackbone
from .clipclap import ClipClap, ClipClapBackbone, ClipClapHead
from .avmst import AVMST, AVMSTFusionBackbone, SpikingRateBranch
from .mstr import MSTR, MSTRBackbone, TuckerRegression

__all__ = ['BNMLP', 'MeanPoolAVEncoder', 'masked_mean', 'TCaF',
           'TCaFBackbone', 'TCaFHead', 'AVCA', 'AVCABackbone', 'AVCAHead',
           'sample_negatives', 'SpikingAVCA', 'SpikingAVCABackbone',
           'ClipClap', 'ClipClapBackbone', 'ClipClapHead', 'AVMST',
           'AVMSTFusionBackbone', 'SpikingRateBranch', 'MSTR',
           'MSTRBackbone', 'TuckerRegression']
