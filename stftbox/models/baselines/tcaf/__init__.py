"""TCaF (Mercea, Hummel, Koepke, Akata, ECCV 2022), exact port."""
from .backbone import TCaFBackbone, tcaf_attention_mask
from .classifier import TCaF
from .head import TCaFHead

__all__ = ['TCaFBackbone', 'TCaFHead', 'TCaF', 'tcaf_attention_mask']
