"""Runtime pieces for the mmengine Runner: hooks and the runner. Importing
this package also allow-lists the few classes that mmengine checkpoints
hold, so that weights-only loading (torch >= 2.6) works for resume and
load_from."""
from stftbox.utils import register_safe_globals

from . import hooks  # noqa: F401
from .runner import StftboxRunner  # noqa: F401

register_safe_globals()
