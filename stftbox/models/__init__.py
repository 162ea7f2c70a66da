"""Models, in the order of the paper's figure: neurons -> poolings ->
backbones (SNN branch, transformer branch) -> fusions -> heads / losses ->
classifiers (whole models)."""
from . import neurons, poolings, backbones, fusions, heads, losses, classifiers  # noqa: F401,E501
