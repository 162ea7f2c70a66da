"""Per-clip GZSL test results: dump to a pickle, load, per-class table and
the calibration sweep (``tools/test.py --dump/--per-class/--show-dir``,
``tools/analysis_tools/analyze_results.py``).

A results file (``preds.pkl``) is a plain dict of numpy arrays, lists and
numbers (loadable with :func:`stftbox.datasets.safe_load_pickle`, no code
objects):

=================== =========================================================
``distances``       float32 ``[N, C_all]`` L2 distances clip -> class (joint
                    space; columns in ``all_class.txt`` order)
``labels``          int64 ``[N]`` ground-truth class ids
``predictions``     int64 ``[N]`` GZSL predictions at ``beta`` (calibrated
                    stacking over seen + unseen classes)
``zsl_predictions`` int64 ``[N]`` arg-min over the unseen classes only
``beta``            float, the calibration used for ``predictions``
``class_names``     list of ``C_all`` str
``seen_class_ids``  list of int; ``unseen_class_ids`` likewise
``clip_names``      list of ``N`` str (empty when unknown)
``metrics``         dict ``S``/``U``/``HM``/``ZSL`` (percent) at ``beta``
``beta_source``     optional str, where ``beta`` came from: ``'validation'``
                    (chosen on validation, stored in the checkpoint),
                    ``'forced'`` (``--beta``) or ``'config'`` (the config's
                    ``test_evaluator.calibration``); plots call a beta
                    "chosen" only for ``'validation'``
=================== =========================================================
"""
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from stftbox.registry import METRICS
from .gzsl_metric import (calibrated_predictions, gzsl_scores,
                          zsl_predictions)

__all__ = ['build_results', 'dump_results', 'load_results',
           'per_class_rows', 'format_per_class_table', 'beta_sweep',
           'GZSLResultsDumper', 'RESULT_KEYS', 'BETA_SOURCES']

#: values of the optional ``beta_source`` key
BETA_SOURCES = ('validation', 'forced', 'config')

#: keys every results file has
RESULT_KEYS = ('distances', 'labels', 'predictions', 'zsl_predictions',
               'beta', 'class_names', 'seen_class_ids', 'unseen_class_ids',
               'clip_names', 'metrics')


def build_results(distances, labels, class_names: Sequence[str],
                  seen_class_ids: Sequence[int],
                  unseen_class_ids: Sequence[int], beta: float,
                  clip_names: Optional[Sequence[str]] = None,
                  beta_source: Optional[str] = None) -> dict:
    """Assemble a results dict (module docstring) from test outputs.

    Args:
        distances: ``[N, C_all]`` distances (Tensor or array).
        labels: ``[N]`` class ids.
        class_names: ``C_all`` names.
        seen_class_ids, unseen_class_ids: candidate class ids.
        beta (float): calibration added to seen-class distances.
        clip_names: ``N`` names, optional.
        beta_source (str, optional): one of :data:`BETA_SOURCES`, stored as
            ``beta_source`` (left out when None).

    Returns:
        dict: the keys of :data:`RESULT_KEYS`; ``predictions`` follow the
        same rule as :func:`stftbox.evaluation.gzsl_scores` and ``metrics``
        are its scores in percent.

    Raises:
        ValueError: shapes disagree, NaN/Inf distances, a label or class id
            outside ``[0, C_all)``, an unknown ``beta_source``.
    """
    if beta_source is not None and beta_source not in BETA_SOURCES:
        raise ValueError(f'results: beta_source must be one of '
                         f'{BETA_SOURCES}, got {beta_source!r}')
    dist = np.asarray(torch.as_tensor(distances, dtype=torch.float32))
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    names = [str(n) for n in class_names]
    seen = [int(c) for c in seen_class_ids]
    unseen = [int(c) for c in unseen_class_ids]
    if dist.ndim != 2 or dist.shape[0] != lab.shape[0] or \
            dist.shape[1] != len(names):
        raise ValueError(f'results: distances {dist.shape}, labels '
                         f'{lab.shape} and {len(names)} class names do not '
                         'fit ([N, C_all], [N], C_all)')
    if not np.isfinite(dist).all():
        raise ValueError('results: NaN/Inf distances')
    ids = np.concatenate([lab, seen, unseen]).astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= len(names)):
        raise ValueError(f'results: class ids must be in [0, {len(names)})'
                         f', got {ids.min()}..{ids.max()}')
    beta = float(beta)
    # the metric's own rule (one implementation: ties to the lowest id)
    pred = calibrated_predictions(dist, seen, unseen, beta).numpy()
    if unseen:
        zsl = zsl_predictions(dist, unseen).numpy()
    else:
        zsl = np.full_like(lab, -1)
    scores = gzsl_scores(torch.from_numpy(dist), torch.from_numpy(lab), seen,
                         unseen, beta)
    metrics = {k: 100.0 * scores[k] for k in ('S', 'U', 'HM', 'ZSL')}
    res = dict(distances=dist, labels=lab, predictions=pred,
               zsl_predictions=zsl, beta=beta, class_names=names,
               seen_class_ids=seen, unseen_class_ids=unseen,
               clip_names=[str(c) for c in (clip_names or [])],
               metrics=metrics)
    if beta_source is not None:
        res['beta_source'] = beta_source
    return res


def dump_results(results: dict, path: str) -> str:
    """Write ``results`` to ``path`` atomically (a temporary file in the
    same folder, then ``os.replace``): a file under ``path`` is always
    complete. Returns the absolute path."""
    from stftbox.fileio.atomic_io import atomic_write
    path = osp.abspath(path)
    with atomic_write(path, 'wb') as f:
        pickle.dump(results, f, protocol=4)
    return path


def load_results(path: str) -> dict:
    """Read a results file with the restricted unpickler
    (:func:`stftbox.datasets.safe_load_pickle`) and check it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing key or inconsistent shapes (names them).
        stftbox.datasets.UnsafePickleError: the pickle holds other objects.
    """
    from stftbox.datasets import safe_load_pickle
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file not found: {path}')
    res = safe_load_pickle(path)
    if not isinstance(res, dict):
        raise ValueError(f'{path}: expected a dict (tools/test.py --dump), '
                         f'found {type(res).__name__}')
    missing = [k for k in RESULT_KEYS if k not in res]
    if missing:
        raise ValueError(f'{path}: not a tools/test.py --dump file, missing '
                         f'keys {missing}')
    res['distances'] = np.asarray(res['distances'], dtype=np.float32)
    for key in ('labels', 'predictions', 'zsl_predictions'):
        res[key] = np.asarray(res[key], dtype=np.int64)
    n, c = res['distances'].shape if res['distances'].ndim == 2 else (-1, -1)
    if n < 0 or len(res['labels']) != n or len(res['predictions']) != n \
            or len(res['class_names']) != c:
        raise ValueError(
            f"{path}: inconsistent shapes: distances "
            f"{res['distances'].shape}, labels {res['labels'].shape}, "
            f"predictions {res['predictions'].shape}, "
            f"{len(res['class_names'])} class names")
    return res


def per_class_rows(results: dict) -> List[dict]:
    """One row per evaluated class (seen first, then unseen, by id).

    Returns:
        list of dict: ``id``, ``name``, ``split`` (``'seen'``/``'unseen'``),
        ``clips`` (test clips of the class), ``correct`` and ``accuracy``
        (percent, GZSL prediction at ``results['beta']``); classes without
        a test clip are left out (they have no accuracy).
    """
    lab, pred = results['labels'], results['predictions']
    rows = []
    for split, ids in (('seen', results['seen_class_ids']),
                       ('unseen', results['unseen_class_ids'])):
        for c in sorted(int(i) for i in ids):
            sel = lab == c
            n = int(sel.sum())
            if not n:
                continue
            ok = int((pred[sel] == c).sum())
            rows.append(dict(id=c, name=results['class_names'][c],
                             split=split, clips=n, correct=ok,
                             accuracy=100.0 * ok / n))
    return rows


def format_per_class_table(results: dict) -> str:
    """Per-class accuracy table (text), seen/unseen marked, with the mean
    per split (equal to S and U)."""
    rows = per_class_rows(results)
    width = max([len(r['name']) for r in rows] + [5])
    head = f"{'id':>4}  {'class':<{width}}  {'split':<6}  {'clips':>5}  " \
        f"{'acc %':>6}"
    lines = [f"Per-class GZSL accuracy (beta {results['beta']:.2f})", head,
             '-' * len(head)]
    for r in rows:
        lines.append(f"{r['id']:>4}  {r['name']:<{width}}  {r['split']:<6}"
                     f"  {r['clips']:>5}  {r['accuracy']:>6.2f}")
    lines.append('-' * len(head))
    for split, key in (('seen', 'S'), ('unseen', 'U')):
        accs = [r['accuracy'] for r in rows if r['split'] == split]
        if accs:
            lines.append(f'mean {split:<6} ({len(accs)} classes): '
                         f'{np.mean(accs):.2f}  ({key})')
    return '\n'.join(lines)


def beta_sweep(results: dict, betas: Optional[Sequence[float]] = None
               ) -> Dict[str, np.ndarray]:
    """S, U and HM (percent) over calibration values (the GZSL
    calibration trade-off; docs/data.md, Evaluation).

    Args:
        results: a results dict.
        betas: values to try; default 61 values in ``[0, max(3, 1.5 *
            beta)]``, plus ``results['beta']`` itself.

    Returns:
        dict: ``beta``, ``S``, ``U``, ``HM`` as float arrays ``[K]``
        (sorted by beta).
    """
    if betas is None:
        hi = max(3.0, 1.5 * float(results['beta']))
        betas = np.linspace(0.0, hi, 61)
    betas = np.unique(np.append(np.asarray(betas, dtype=np.float64),
                                float(results['beta'])))
    dist = torch.from_numpy(np.asarray(results['distances']))
    lab = torch.from_numpy(np.asarray(results['labels']))
    out = {k: [] for k in ('S', 'U', 'HM')}
    for b in betas:
        sc = gzsl_scores(dist, lab, results['seen_class_ids'],
                         results['unseen_class_ids'], float(b))
        for k in out:
            out[k].append(100.0 * sc[k])
    return dict(beta=betas, **{k: np.asarray(v) for k, v in out.items()})


@METRICS.register_module()
class GZSLResultsDumper(BaseMetric):
    """Evaluator metric that writes the per-clip results file (module
    docstring) instead of computing scores; ``tools/test.py --dump`` adds
    it next to ``GZSLMetric``.

    Args:
        out_file (str): the ``.pkl`` to write (atomically).
        calibration (float): beta for the stored ``predictions``.

    Returns (``compute_metrics``): an empty dict (the scores come from
    ``GZSLMetric``).
    """

    default_prefix = 'dump'

    def __init__(self, out_file: str, calibration: float = 0.0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not str(out_file).endswith(('.pkl', '.pickle')):
            raise ValueError(f'GZSLResultsDumper: out_file must end in .pkl,'
                             f' got {out_file!r}')
        self.out_file = str(out_file)
        self.calibration = float(calibration)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                (torch.as_tensor(sample['distances']).float().cpu(),
                 int(sample['gt_label'])))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        meta = self.dataset_meta or {}
        dist = torch.stack([r[0] for r in results])
        labels = [r[1] for r in results]
        names = meta.get('classes') or [str(i) for i in range(dist.shape[1])]
        res = build_results(dist, labels, names,
                            meta.get('seen_class_ids', []),
                            meta.get('unseen_class_ids', []),
                            self.calibration)
        dump_results(res, self.out_file)
        return {}
