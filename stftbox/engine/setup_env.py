"""Environment set-up shared by the tools."""
from mmengine.registry import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every stftbox module that registers into a registry, allow-list
    the few classes mmengine checkpoints hold for weights-only loading and
    make ``'stftbox'`` the default registry scope. No process-wide side
    effect: the allocator tuning is the tools' opt-in
    (:func:`stftbox.utils.tune_if_requested`).

    Args:
        init_default_scope (bool): create the ``'stftbox'`` default scope if
            none is active. Default True.
    """
    import stftbox.datasets  # noqa: F401
    import stftbox.engine  # noqa: F401
    import stftbox.evaluation  # noqa: F401
    import stftbox.models  # noqa: F401
    from stftbox.fileio import register_safe_globals
    register_safe_globals()
    if init_default_scope and DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('stftbox', scope_name='stftbox')


def setup_cpu_distributed(cfg, launcher: str) -> None:
    """Make a ``torchrun`` launch work without GPUs.

    mmengine 0.10 assumes CUDA for ``launcher='pytorch'`` (it calls
    ``torch.cuda.set_device`` and passes ``device_ids`` to DDP). Without
    CUDA this starts the process group with the gloo backend and selects
    :class:`~stftbox.models.wrappers.DeviceAwareDistributedDataParallel`;
    with CUDA, or ``launcher='none'``, it changes nothing.

    Args:
        cfg (Config): the run's config (changed in place).
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    import torch
    if launcher == 'none' or torch.cuda.is_available():
        return
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    cfg.setdefault('model_wrapper_cfg',
                   dict(type='stftbox.DeviceAwareDistributedDataParallel'))
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
