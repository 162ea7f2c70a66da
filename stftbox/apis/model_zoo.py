"""Models by name, as ``mmpretrain.apis``: :func:`list_models` and
:func:`get_model`, driven by the model zoo's metafiles
(``model-index.yml``, :mod:`stftbox.fileio.model_zoo`).

    from stftbox.apis import get_model, list_models
    list_models('stft_demo*')          # ['stft_demo_ucf_surrogate']
    model = get_model('stft_demo_ucf_surrogate', pretrained=True)
"""
import fnmatch
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

__all__ = ['list_models', 'get_model', 'model_config_path']


def list_models(pattern: Optional[str] = None,
                exclude_patterns: Optional[Sequence[str]] = None,
                released: Optional[bool] = None) -> List[str]:
    """Names of the model-zoo models, sorted.

    Args:
        pattern (str, optional): ``fnmatch`` wildcard pattern, case
            insensitive; as in mmpretrain a name matches when it *starts*
            with the pattern (``'stft_ucf'`` matches ``stft_ucf_cls`` and
            ``stft_ucf_main``; ``'*surrogate'`` matches names ending so).
            ``None``: all models.
        exclude_patterns (sequence of str, optional): wildcard patterns of
            names to leave out (matched like ``pattern``).
        released (bool, optional): True: only models with downloadable
            weights (``status: released``); False: only the others; None:
            all.

    Returns:
        list of str: model names (``get_model`` takes them).

    Raises:
        stftbox.fileio.ModelZooError: malformed metafiles.
    """
    from stftbox.fileio import load_model_zoo
    entries = load_model_zoo()['models']
    if released is not None:
        entries = [e for e in entries
                   if (e['status'] == 'released') == released]
    names = [e['name'] for e in entries]

    def matches(name, pat):
        return fnmatch.fnmatch(name.lower(), pat.lower() + '*')

    if pattern is not None:
        names = [n for n in names if matches(n, pattern)]
    for pat in exclude_patterns or ():
        names = [n for n in names if not matches(n, pat)]
    return sorted(names)


def model_config_path(entry: dict, root: str) -> str:
    """The config file of a zoo entry: ``<root>/<Config>`` in a clone, or
    the packaged copy ``stftbox/.mim/configs/...`` of an installed package.

    Raises:
        FileNotFoundError: neither exists.
    """
    rel = entry['config']
    cands = [osp.join(root, rel)]
    if rel.startswith('configs/'):
        from stftbox.engine.config_loader import package_config_dir
        cands.append(osp.join(package_config_dir(), rel[len('configs/'):]))
    for cand in cands:
        if osp.isfile(cand):
            return cand
    raise FileNotFoundError(f"model {entry['name']!r}: config {rel} not "
                            f"found (looked in {', '.join(cands)})")


def get_model(model: str,
              pretrained: Union[bool, str, os.PathLike] = False,
              device: str = 'cpu',
              cfg_options: Optional[dict] = None,
              weights: str = 'safetensors',
              progress: bool = True):
    """Build a model-zoo model by name, optionally with its weights.

    Args:
        model (str): a name from :func:`list_models`.
        pretrained (bool | str): False: randomly initialised weights; True:
            the zoo's weights (verified against the zoo's SHA-256; a file
            shipped in the repository is used in place of a download, so
            the demo model works offline); a path / URL: that checkpoint.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
        cfg_options (dict, optional): ``Config.merge_from_dict`` overrides
            of the model's config.
        weights (str): with ``pretrained=True``: ``'safetensors'`` (default;
            the weights without pickle, when the zoo has them, else the
            ``.pth``) or ``'pth'`` (the ``torch.save`` checkpoint).
        progress (bool): progress bar for downloads.

    Returns:
        the model from :func:`stftbox.apis.init_model` (eval mode, with
        ``cfg``, ``dataset_meta`` and ``calibration``; ``model.zoo_entry``
        is the zoo entry).

    Raises:
        stftbox.fileio.ModelZooError: unknown name (the message lists the
            known ones), or ``pretrained=True`` for a model without
            released weights.
        FileNotFoundError: the config is missing.
        stftbox.fileio.CheckpointError / DownloadError: see
            :func:`init_model`.
    """
    from stftbox.fileio import (ModelZooError, fetch_zoo_weights, get_entry,
                                load_model_zoo)
    from stftbox.engine.config_loader import load_config

    from .inference import init_model
    zoo = load_model_zoo()
    entry = get_entry(model, zoo)
    cfg = load_config(model_config_path(entry, zoo['root']))
    checkpoint = None
    if pretrained is True:
        if entry['status'] != 'released':
            raise ModelZooError(
                f"model {entry['name']!r} has no released weights (status: "
                f"{entry['status']}); use pretrained=False or a checkpoint "
                'path')
        fmt = weights if weights == 'pth' or entry.get('safetensors') \
            else 'pth'
        checkpoint = fetch_zoo_weights(entry, fmt, progress=progress)
    elif pretrained:
        checkpoint = os.fspath(pretrained)
    net = init_model(cfg, checkpoint, device=device, cfg_options=cfg_options)
    net.zoo_entry = entry
    return net
