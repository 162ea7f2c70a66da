"""Reading configs as the tools do: ``stftbox::`` base configs from any
folder, and ``custom_imports`` of modules next to the config."""
import contextlib
import importlib.util
import os.path as osp
import sys
from typing import Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.config import config as _mm_config
from mmengine.config import utils as _mm_config_utils

#: the scope of stftbox's shipped configs: ``'stftbox::stft_demo.py'``
CONFIG_SCOPE = 'stftbox'


def package_config_dir() -> str:
    """``stftbox/.mim/configs``: the configs shipped with the package (in a
    checkout a symlink to the repository's ``configs/``)."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim',
                    'configs')


def _installed_path(package: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f'{package} is not installed')
    return osp.dirname(spec.origin)


def _package_and_path(cfg_path: str) -> Tuple[str, str]:
    scope, _, rel = cfg_path.partition('::')
    if scope == CONFIG_SCOPE and '/' not in rel:
        return scope, rel  # a top-level config: 'stftbox::stft_demo.py'
    return _original_package_and_path(cfg_path)


_original_package_and_path = _mm_config_utils._get_package_and_cfg_path


@contextlib.contextmanager
def stftbox_config_scheme() -> Iterator[None]:
    """Let mmengine 0.10 resolve ``stftbox::<path>`` base configs.

    mmengine resolves ``<package>::<path>`` to
    ``<package dir>/.mim/configs/<path>`` (as for ``mmpretrain::``), but
    0.10.7 (a) accepts only the packages of its own ``MODULE2PACKAGE``
    table, (b) needs a folder in ``<path>`` and (c) finds the package with
    ``pkg_resources``, which setuptools >= 82 no longer has (fixed in
    mmengine after 0.10.7 by switching to ``importlib``). Inside this
    context ``stftbox`` is in the table, ``stftbox::stft_demo.py`` (no
    folder) is accepted, and packages are found with ``importlib``; other
    packages' configs resolve as before. Nothing is changed outside it.
    """
    table = _mm_config_utils.MODULE2PACKAGE
    added = CONFIG_SCOPE not in table
    table.setdefault(CONFIG_SCOPE, CONFIG_SCOPE)
    saved = {name: getattr(_mm_config, name) for name in
             ('is_installed', 'get_installed_path',
              '_get_package_and_cfg_path')}
    try:
        _mm_config.is_installed = \
            lambda package: importlib.util.find_spec(package) is not None
        _mm_config.get_installed_path = _installed_path
        _mm_config._get_package_and_cfg_path = _package_and_path
        yield
    finally:
        for name, value in saved.items():
            setattr(_mm_config, name, value)
        if added:
            table.pop(CONFIG_SCOPE, None)


def _drop_scope(node, scope: str) -> None:
    """Remove ``_scope_=scope`` from every dict below ``node`` (in place)."""
    if isinstance(node, dict):
        if node.get('_scope_') == scope:
            del node['_scope_']
        for value in node.values():
            _drop_scope(value, scope)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_scope(value, scope)


def add_config_dir_to_path(config: str) -> Optional[str]:
    """Put the folder of ``config`` first on ``sys.path`` (once), so that
    its ``custom_imports`` find modules and packages next to it without
    ``PYTHONPATH`` (a plugin in its own folder).

    Returns:
        str | None: the folder added, None if it was on the path already.
    """
    folder = osp.dirname(osp.abspath(config))
    if folder in sys.path:
        return None
    sys.path.insert(0, folder)
    return folder


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` as the stftbox tools call it.

    * the config's folder goes on ``sys.path`` first
      (:func:`add_config_dir_to_path`) before mmengine imports its
      ``custom_imports``;
    * ``_base_`` may name shipped configs as ``'stftbox::<path>'``
      (:func:`stftbox_config_scheme`), e.g. ``'stftbox::stft_demo.py'``,
      ``'stftbox::_base_/default_runtime.py'``;
    * mmengine marks the dicts that come from a ``stftbox::`` base with
      ``_scope_='stftbox'``; with ``default_scope='stftbox'`` that is the
      scope they build in anyway, and mmengine's Runner would pass it to
      the collate function as an argument, so it is removed;
    * ``cfg_options`` (from ``--cfg-options``) are merged; a value written
      as a Python literal with ``dict(...)`` is parsed
      (:func:`stftbox.engine.cli.parse_literals`); every key is checked first
      (:func:`stftbox.engine.config_check.check_cfg_options`).

    Args:
        config (str): path of the config file.
        cfg_options (dict, optional): ``key=value`` overrides.

    Returns:
        Config: the merged config.

    Raises:
        FileNotFoundError: the config or a base config does not exist.
        ConfigCheckError: an option names a key the config does not have.
    """
    from .cli import parse_literals
    from .config_check import check_cfg_options
    add_config_dir_to_path(config)
    with stftbox_config_scheme():
        cfg = Config.fromfile(config)
    if cfg.get('default_scope') == CONFIG_SCOPE:
        _drop_scope(cfg._cfg_dict, CONFIG_SCOPE)
    if cfg_options:
        cfg_options = parse_literals(cfg_options)
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg
