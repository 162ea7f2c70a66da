"""Model wrappers for distributed training."""
from mmengine.model import MMDistributedDataParallel

from stftbox.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` that also wraps CPU models.

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which torch
    refuses for a module whose parameters are on the CPU (CPU-only
    ``torchrun`` with the gloo backend). This wrapper drops ``device_ids``
    in that case and behaves exactly like its parent otherwise.
    ``tools/train.py`` selects it (and gloo) when CUDA is unavailable.
    """

    def __init__(self, module, device_ids=None, **kwargs) -> None:
        if next(module.parameters()).device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
