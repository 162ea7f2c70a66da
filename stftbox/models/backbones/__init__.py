"""Backbones: simple baselines, SNN branch, transformer branch, STFT."""
from .mean_pool_encoder import MeanPoolAVEncoder, masked_mean  # noqa: F401
from .modality_encoder import ModalityEncoder  # noqa: F401
from .knowledge_combiner import LatentKnowledgeCombiner  # noqa: F401
from .cross_modal_transformer import CrossModalTransformer  # noqa: F401
from .transformer_branch import TransformerBranch  # noqa: F401
from .time_step_factor import TimeStepFactor  # noqa: F401
from .snn_branch import SNNBranch, SpikingBlock  # noqa: F401
from .stft_backbone import STFTBackbone  # noqa: F401
from .bn_mlp import BNMLP  # noqa: F401
from .tcaf_backbone import TCaFBackbone  # noqa: F401
from .avca_backbone import AVCABackbone  # noqa: F401
from .avmst_backbone import AVMSTBackbone  # noqa: F401
