"""An example third-party stftbox plugin: registers ``MLBFusion`` into
stftbox's ``FUSIONS`` registry when imported (e.g. by a config's
``custom_imports = dict(imports=['stftbox_fusion_plugin'])``)."""
from .mlb_fusion import MLBFusion

__all__ = ['MLBFusion']
__version__ = '0.1.0'
