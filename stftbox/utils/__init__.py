"""Generic helpers that know nothing of stftbox's models, data or files:
CPU allocator tuning and progress bars."""
from .cpu_allocator import ALLOCATOR_ENV, tune_cpu_allocator, tune_if_requested
from .progress import track

__all__ = ['tune_cpu_allocator', 'ALLOCATOR_ENV', 'tune_if_requested', 'track']
