"""What a result depends on besides the config: library versions, the torch
thread count and the DataLoader workers.

Training results on CPU change with the number of torch threads (the
floating-point summation order of parallel reductions differs) and with
``num_workers`` (random crops are drawn in the worker processes, seeded per
worker). :func:`run_environment` records them next to a result (the
protocol summary, the model zoo) so that a rerun can match them.
"""
import platform

__all__ = ['run_environment', 'environment_mismatch', 'code_sha256',
           'DEPENDS_ON']

#: the settings a CPU result is known to depend on (model-zoo note)
DEPENDS_ON = ('the number of torch threads (torch.get_num_threads(), '
              'OMP_NUM_THREADS: floating-point reduction order) and '
              'num_workers (random crops are drawn in the DataLoader '
              'workers)')


def _version(module):
    try:
        return str(__import__(module).__version__)
    except (ImportError, AttributeError):
        return None


def code_sha256():
    """SHA-256 over the ``stftbox`` package's ``.py`` sources (relative
    path and bytes, sorted): a result made by other code is not reused."""
    import hashlib
    import os
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith('.py'):
                path = osp.join(folder, name)
                h.update(osp.relpath(path, root).encode() + b'\0')
                with open(path, 'rb') as f:
                    h.update(f.read())
    return h.hexdigest()


def run_environment(cfg=None):
    """The environment of a run, as a JSON-able dict.

    Args:
        cfg (mmengine.Config, optional): adds ``seed`` (``randomness.seed``)
            and ``num_workers`` of the train/val/test dataloaders.

    Returns:
        dict: ``python``, ``torch``, ``mmengine``, ``spikingjelly``,
        ``numpy`` versions, ``machine`` (CPU architecture), ``threads``
        (``torch.get_num_threads()``), ``code`` (:func:`code_sha256`), and
        with ``cfg`` ``seed`` and
        ``num_workers`` (loader name -> int, 0 when unset).
    """
    import torch
    env = dict(python=platform.python_version(),
               torch=str(torch.__version__),  # TorchVersion: a str subclass
               mmengine=_version('mmengine'),
               spikingjelly=_spikingjelly_version(),
               numpy=_version('numpy'), machine=platform.machine(),
               threads=torch.get_num_threads(), code=code_sha256())
    if cfg is not None:
        env['seed'] = (cfg.get('randomness') or {}).get('seed')
        env['num_workers'] = {
            name: int((cfg.get(f'{name}_dataloader') or {}).get(
                'num_workers', 0) or 0) for name in ('train', 'val', 'test')}
    return env


def _spikingjelly_version():
    try:
        from importlib.metadata import version
        return str(version('spikingjelly'))
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return _version('spikingjelly')


def environment_mismatch(recorded, current,
                         keys=('torch', 'mmengine', 'spikingjelly', 'numpy',
                               'threads', 'num_workers', 'seed', 'code')):
    """Keys whose values differ between two :func:`run_environment` dicts.

    Returns:
        list[str]: ``'<key>: <recorded> != <current>'`` lines (keys missing
        from ``recorded`` are skipped: older records).
    """
    return [f'{k}: {recorded[k]} != {current.get(k)}' for k in keys
            if k in recorded and recorded[k] != current.get(k)]
