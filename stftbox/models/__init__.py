"""Models, in the order of the paper's figure: neurons -> poolings ->
backbones (SNN branch, transformer branch) -> fusions -> heads / losses ->
classifiers (whole models); peer baselines apart in ``baselines``."""
from . import (backbones, classifiers, fusions, heads, losses,  # noqa: F401
               neurons, poolings, wrappers)
from . import baselines  # noqa: F401,E402
