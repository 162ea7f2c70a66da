"""Environment set-up shared by the tools."""
from mmengine.registry import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every stftbox module that registers into a registry, allow-list
    the few classes mmengine checkpoints hold for weights-only loading, and
    make ``'stftbox'`` the default registry scope.

    Args:
        init_default_scope (bool): create the ``'stftbox'`` default scope if
            none is active. Default True.
    """
    import stftbox.datasets  # noqa: F401
    import stftbox.engine  # noqa: F401
    import stftbox.evaluation  # noqa: F401
    import stftbox.models  # noqa: F401
    from stftbox.utils import register_safe_globals
    register_safe_globals()
    if init_default_scope and DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('stftbox', scope_name='stftbox')
