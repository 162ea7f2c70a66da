"""The peer baselines as whole stftbox models (docs/baselines.md)."""
from .avmst import AVMST, AVMSTFusionBackbone, SpikingRateBranch  # noqa: F401
from .clipclap import ClipClap, ClipClapBackbone, ClipClapHead  # noqa: F401
from .mstr import MSTR, MSTRBackbone, TuckerRegression  # noqa: F401
