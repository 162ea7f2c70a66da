"""Steps the tools take around the mmengine Runner: check the data first,
choose the visualisation backend, build the runner."""
import importlib.util
import os.path as osp
from typing import Iterator, Sequence

from mmengine.config import Config

#: ``--vis-backend`` choices -> mmengine vis backend type and the module
#: it needs (None: always available)
VIS_BACKENDS = {
    'local': ('LocalVisBackend', None),
    'tensorboard': ('TensorboardVisBackend', 'tensorboard'),
    'wandb': ('WandbVisBackend', 'wandb'),
}


def set_vis_backend(cfg: Config, name: str) -> None:
    """Log scalars (and the config) with the vis backend ``name``.

    ``local`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json``;
    ``tensorboard`` and ``wandb`` add mmengine's ``TensorboardVisBackend``
    (event files under ``vis_data/``) or ``WandbVisBackend`` to the local
    one, so ``scalars.json`` is always written. Changes
    ``cfg.visualizer.vis_backends`` in place.

    Args:
        cfg (Config): the run's config (needs a ``visualizer``).
        name (str): ``'local'``, ``'tensorboard'`` or ``'wandb'``.

    Raises:
        ValueError: unknown ``name``, or its package is not installed (the
            message says what to ``pip install``).
    """
    if name not in VIS_BACKENDS:
        raise ValueError(f'--vis-backend {name!r}: expected one of '
                         f'{sorted(VIS_BACKENDS)}')
    typ, module = VIS_BACKENDS[name]
    if module and importlib.util.find_spec(module) is None:
        raise ValueError(f'--vis-backend {name} needs the {module!r} package:'
                         f' pip install {module}  (or pip install -e '
                         '".[vis]")')
    backends = [dict(type='LocalVisBackend')]
    if typ != 'LocalVisBackend':
        backends.append(dict(type=typ))
    cfg.visualizer = dict(cfg.get('visualizer') or dict(type='Visualizer'),
                          vis_backends=backends)


def _dataset_cfgs(node) -> Iterator[dict]:
    """Every dict with a ``data_root`` inside a dataset config (wrappers'
    ``dataset`` / ``datasets`` included)."""
    if isinstance(node, dict):
        if 'data_root' in node:
            yield node
        for key in ('dataset', 'datasets'):
            if key in node:
                yield from _dataset_cfgs(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _dataset_cfgs(item)


def check_data(cfg: Config,
               loaders: Sequence[str] = ('train_dataloader',
                                         'val_dataloader'),
               prepare: bool = True) -> None:
    """Check the datasets' ``data_root`` folders before a Runner is built,
    so that a missing-data error is the first thing a run prints.

    For every dataset config with a ``data_root`` in ``cfg[loader].dataset``
    (wrappers included): an existing folder passes; a missing one inside
    the stftbox cache with a ``prepare`` function (the bundled surrogate;
    generated data is never made anywhere else) is created now when
    ``prepare`` is True (a single process; with several processes the
    dataset does it, rank 0 first); a missing one without ``prepare``
    raises the dataset's missing-data error.

    Args:
        cfg (Config): the run's config.
        loaders (Sequence[str]): dataloader keys the run will build.
        prepare (bool): create missing ``prepare`` roots here.

    Raises:
        DatasetError: a missing ``data_root`` (message with the archive to
            download and the command that does it), or a failed
            ``prepare``.
    """
    from stftbox.datasets import check_data_root, prepare_data_root
    from stftbox.datasets.av_gzsl import in_stftbox_cache
    seen = set()
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        for ds in _dataset_cfgs(loader_cfg.get('dataset')):
            root = osp.expanduser(str(ds['data_root']))
            if root in seen:
                continue
            seen.add(root)
            context = dict(dataset_name=ds.get('dataset_name', 'UCF'),
                           feature_method=ds.get(
                               'feature_method', 'cls_features_non_averaged'))
            generated = ds.get('prepare') and in_stftbox_cache(root)
            if not osp.isdir(root) and generated and prepare:
                prepare_data_root(
                    ds['prepare'], root,
                    audio_channels=ds.get('audio_channels'),
                    video_channels=ds.get('video_channels'), **context)
            elif generated:
                continue  # the dataset prepares it
            check_data_root(root, **context)


def build_runner(cfg: Config):
    """Build the Runner named by ``cfg.runner_type`` from the stftbox
    ``RUNNERS`` registry, as mmpretrain's tools do (without ``runner_type``:
    mmengine's ``Runner``). The stftbox configs name
    :class:`~stftbox.engine.StftboxRunner` (quiet console, full log file) in
    ``configs/_base_/default_runtime.py``.

    Returns:
        mmengine.runner.Runner: the runner.
    """
    from stftbox.registry import RUNNERS
    return RUNNERS.build(cfg)
