"""Backbones of STFT: modality encoders, SNN branch, transformer branch.
Baselines' backbones live in ``stftbox.models.baselines``."""
from .modality_encoder import ModalityEncoder  # noqa: F401
from .knowledge_combiner import LatentKnowledgeCombiner  # noqa: F401
from .cross_modal_transformer import CrossModalTransformer  # noqa: F401
from .transformer_branch import TransformerBranch  # noqa: F401
from .time_step_factor import TimeStepFactor  # noqa: F401
from .snn_branch import SNNBranch, SpikingBlock  # noqa: F401
from .stft_backbone import STFTBackbone  # noqa: F401
