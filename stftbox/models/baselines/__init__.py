"""Peer baselines, apart from STFT's parts: TCaF (ECCV 2022), AVCA (CVPR
2022), our SpikingAVCA variant (AVCA + an SNN branch on the encoded tokens;
not the released AVMST) and the mean-pool encoder of the simplest baseline.
Each peer is one small sub-package (backbone / head / classifier)."""
from .bn_mlp import BNMLP
from .mean_pool import MeanPoolAVEncoder, masked_mean
from .tcaf import TCaF, TCaFBackbone, TCaFHead
from .avca import AVCA, AVCABackbone, AVCAHead, sample_negatives
from .spiking_avca import SpikingAVCA, SpikingAVCABackbone

__all__ = ['BNMLP', 'MeanPoolAVEncoder', 'masked_mean', 'TCaF',
           'TCaFBackbone', 'TCaFHead', 'AVCA', 'AVCABackbone', 'AVCAHead',
           'sample_negatives', 'SpikingAVCA', 'SpikingAVCABackbone']
