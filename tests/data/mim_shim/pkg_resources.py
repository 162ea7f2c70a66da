"""The three pkg_resources names openmim 0.3.9 uses, for setuptools >= 82."""
import importlib.metadata
import importlib.util
import os.path as osp

from packaging.version import parse as parse_version  # noqa: F401

working_set = []


class DistributionNotFound(Exception):
    pass


class get_distribution:  # noqa: N801
    def __init__(self, name):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise DistributionNotFound(name)
        self.project_name = name
        self.location = osp.dirname(osp.dirname(spec.origin))
        try:
            self.version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            self.version = '0'
