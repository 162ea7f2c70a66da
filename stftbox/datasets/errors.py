"""Exceptions raised by :mod:`stftbox.datasets`.

Every data problem (missing folder, malformed split file, unsafe pickle,
feature width mismatch, ...) is reported as one :class:`DatasetError` whose
message names the offending file or key and says what was expected
(``docs/data.md``, section "Errors").
"""

__all__ = ['DatasetError', 'UnsafePickleError']


class DatasetError(ValueError):
    """A benchmark file or folder is missing or does not hold what the
    layout of ``docs/data.md`` ("On-disk layout")
    expects. The message is one line naming the file/key."""


class UnsafePickleError(DatasetError):
    """A pickle asked for a global that the restricted unpickler of
    :mod:`stftbox.datasets.safe_pickle` does not allow (anything other than
    numpy arrays/dtypes/scalars and plain Python containers/scalars)."""
