"""GZSL evaluation with calibrated stacking and mean class accuracy."""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.utils import mkdir_or_exist

from stftbox.registry import METRICS


def mean_class_accuracy(pred: torch.Tensor, target: torch.Tensor,
                        class_ids: Sequence[int]) -> tuple:
    """Mean over ``class_ids`` of the per-class accuracy.

    Args:
        pred (Tensor): ``[N]`` predicted class ids.
        target (Tensor): ``[N]`` ground-truth class ids.
        class_ids (sequence of int): classes to average over. Classes with no
            sample in ``target`` are skipped (they have no accuracy).

    Returns:
        tuple: ``(mean, per_class)`` where ``mean`` is a float in ``[0, 1]``
        (0 when no listed class has a sample) and ``per_class`` maps class id
        to its accuracy (correct / count).
    """
    per_class = {}
    for c in class_ids:
        sel = target == c
        n = int(sel.sum())
        if n:
            per_class[int(c)] = float((pred[sel] == c).sum()) / n
    mean = float(np.mean(list(per_class.values()))) if per_class else 0.0
    return mean, per_class


def harmonic_mean(seen: float, unseen: float) -> float:
    """HM = 2SU / (S + U); 0 when both are 0 (docs/data.md, Evaluation)."""
    return 0.0 if seen + unseen == 0 else 2 * seen * unseen / (seen + unseen)


#: validation beta -> test beta, by peer protocol (``GZSLMetric(beta_rule=)``)
BETA_RULES = ('same', 'clipclap')


def test_beta(val_beta: float, rule: str = 'same') -> float:
    """The test-time calibration from the beta chosen on validation.

    ``'same'``: the validation beta (stftbox, TCaF-GZSL, AVCA-GZSL).
    ``'clipclap'``: ``(3 * beta + 1e-10) / 3``, as ClipClap-GZSL's test
    (``get_evaluation.py``) computes it.

    Raises:
        ValueError: unknown ``rule``.
    """
    if rule == 'same':
        return float(val_beta)
    if rule == 'clipclap':
        return (3 * float(val_beta) + 1e-10) / 3
    raise ValueError(f'test_beta: rule must be one of {BETA_RULES}, got '
                     f'{rule!r}')


def effective_test_beta(calibration: Union[str, float],
                        beta_rule: str = 'same') -> Optional[float]:
    """The beta a test with ``GZSLMetric(calibration, beta_rule)`` uses:
    :func:`test_beta` of a fixed ``calibration``; None for ``'sweep'``
    (the beta is chosen per run). The one place the rule is applied:
    the metric, the per-clip results (``--dump``/``--per-class``/
    ``--show-dir``) and the printed beta all read it.

    Args:
        calibration (str | float): ``'sweep'`` or the validation beta.
        beta_rule (str): one of :data:`BETA_RULES`.

    Returns:
        float | None: the test beta (distance units), None for a sweep.

    Raises:
        ValueError: unknown ``beta_rule``.
    """
    if isinstance(calibration, str):
        return None
    return test_beta(calibration, beta_rule)


def _ids(ids) -> torch.Tensor:
    return torch.as_tensor([int(i) for i in ids], dtype=torch.long)


def calibrated_distances(distances, seen_ids: Sequence[int],
                         unseen_ids: Sequence[int],
                         beta: float) -> torch.Tensor:
    """The calibrated-stacking distances every GZSL decision in stftbox is
    made on (the metric, ``--dump`` predictions, the per-class table, the
    inference API): ``beta`` added to the seen columns, the unseen columns
    unchanged, every other column ``+inf``; computed in the distances'
    float precision (float32 for model outputs).

    Args:
        distances (Tensor | np.ndarray): ``[N, C_all]`` distances
            clip -> class (columns in ``all_class.txt`` order).
        seen_ids, unseen_ids: candidate class ids (columns).
        beta (float): calibration (distance units).

    Returns:
        Tensor ``[N, C_all]`` (floating dtype of ``distances``).
    """
    distances = torch.as_tensor(distances)
    if not distances.is_floating_point():
        distances = distances.float()
    seen_ids, unseen_ids = _ids(seen_ids), _ids(unseen_ids)
    d = torch.full_like(distances, float('inf'))
    d[:, seen_ids] = distances[:, seen_ids] + float(beta)
    d[:, unseen_ids] = distances[:, unseen_ids]
    return d


def calibrated_predictions(distances, seen_ids: Sequence[int],
                           unseen_ids: Sequence[int],
                           beta: float) -> torch.Tensor:
    """Calibrated-stacking prediction: arg-min of
    :func:`calibrated_distances` over the class axis in ``all_class.txt``
    order, so an exact tie goes to the lowest class id, as in the reference
    ``get_best_evaluation`` (TCaF/AVCA-GZSL). The one implementation of the
    rule: ``GZSLMetric``, :func:`stftbox.evaluation.results.build_results`
    (``--dump``, ``--per-class``) and the inference API use it.

    Args:
        distances (Tensor | np.ndarray): ``[N, C_all]`` distances.
        seen_ids, unseen_ids: candidate class ids.
        beta (float): calibration (distance units).

    Returns:
        LongTensor ``[N]``: predicted class ids.
    """
    return calibrated_distances(distances, seen_ids, unseen_ids,
                                beta).argmin(dim=1)


def zsl_predictions(distances, unseen_ids: Sequence[int]) -> torch.Tensor:
    """ZSL prediction: arg-min over the unseen classes only (no
    calibration), ties to the lowest class id like
    :func:`calibrated_predictions`.

    Args:
        distances (Tensor | np.ndarray): ``[N, C_all]`` distances.
        unseen_ids: unseen class ids.

    Returns:
        LongTensor ``[N]``: predicted (unseen) class ids.
    """
    return calibrated_distances(distances, [], unseen_ids, 0.0).argmin(dim=1)


def gzsl_scores(distances: torch.Tensor, labels: torch.Tensor,
                seen_ids: Sequence[int], unseen_ids: Sequence[int],
                beta: float) -> dict:
    """S, U, HM and ZSL for one calibration value.

    Implements the AV-GZSL protocol (Mercea et al., CVPR 2022 / ECCV 2022;
    ``docs/data.md``): ``beta`` is added to the distance of every seen class
    (calibrated stacking), the prediction is the arg-min over seen + unseen
    classes along the class axis (``all_class.txt`` order; other classes
    are +inf), so an exact tie goes to the lowest class id, as in the
    reference ``get_best_evaluation`` of TCaF/AVCA-GZSL; S and U are the mean class accuracies over seen and unseen
    classes; ZSL is the mean class accuracy over unseen samples when only the
    unseen classes are candidates (no calibration involved).

    Args:
        distances (Tensor): ``[N, C_all]`` L2 distances clip -> class.
        labels (Tensor): ``[N]`` class ids (columns of ``distances``).
        seen_ids, unseen_ids: class ids of the seen / unseen candidates.
        beta (float): calibration added to seen-class distances (distance
            units of the joint embedding space).

    Returns:
        dict: ``S``, ``U``, ``HM``, ``ZSL`` as fractions in ``[0, 1]`` and
        ``per_class`` (class id -> GZSL accuracy).
    """
    seen_ids = torch.as_tensor(list(seen_ids), dtype=torch.long)
    unseen_ids = torch.as_tensor(list(unseen_ids), dtype=torch.long)
    pred = calibrated_predictions(distances, seen_ids, unseen_ids, beta)
    s, per_seen = mean_class_accuracy(pred, labels, seen_ids.tolist())
    u, per_unseen = mean_class_accuracy(pred, labels, unseen_ids.tolist())
    zsl = 0.0
    if len(unseen_ids):
        is_unseen = torch.isin(labels, unseen_ids)
        zsl, _ = mean_class_accuracy(
            zsl_predictions(distances[is_unseen], unseen_ids),
            labels[is_unseen], unseen_ids.tolist())
    return dict(S=s, U=u, HM=harmonic_mean(s, u), ZSL=zsl,
                per_class={**per_seen, **per_unseen})


@METRICS.register_module()
class GZSLMetric(BaseMetric):
    """Seen accuracy S, unseen accuracy U, harmonic mean HM and ZSL accuracy.

    Expects the model's ``predict`` output: one dict per clip with
    ``distances`` (``[C_all]`` L2 distances to every class embedding, class
    order of ``all_class.txt``) and ``gt_label`` (int). Seen and unseen
    classes come from ``dataset_meta['seen_class_ids']`` /
    ``['unseen_class_ids']`` (set by the Runner from the dataset).

    Calibrated stacking (docs/data.md, Evaluation): with
    ``calibration='sweep'`` (stage-1 validation) beta is swept over
    ``num_betas`` evenly spaced values in ``beta_range`` (default 16 values in
    [0, 3]; ClipClap-GZSL sweeps 76 in [0, 5], a config setting) and the
    beta with the best HM is reported; with a float (stage-2 test, the beta
    chosen on validation) the test beta ``test_beta(calibration,
    beta_rule)`` is used, no sweep.

    Reported keys (percent): ``S``, ``U``, ``HM``, ``ZSL``; plus ``beta``
    (:attr:`metric_names`; the runner sees them as ``<prefix>/<name>``,
    e.g. ``gzsl/HM``).

    Args:
        calibration (str | float): ``'sweep'`` or a fixed beta.
        num_betas (int): number of sweep values. Default 16.
        beta_range (tuple[float, float]): sweep interval. Default (0, 3).
        beta_rule (str): validation beta -> test beta, see
            :func:`test_beta`. Default ``'same'``.
        per_class_file (str, optional): if set, a JSON file with the
            per-class accuracies (class name -> percent) and the scores is
            written there after each evaluation.

    Raises:
        ValueError: for an unknown ``calibration`` string or ``beta_rule``,
            ``num_betas < 1``,
            or when ``dataset_meta`` lacks the seen/unseen class ids.
    """

    default_prefix = 'gzsl'
    #: the keys :meth:`compute_metrics` reports (before the prefix)
    metric_names = ('S', 'U', 'HM', 'ZSL', 'beta')

    def __init__(self,
                 calibration: Union[str, float] = 'sweep',
                 num_betas: int = 16,
                 beta_range: Sequence[float] = (0.0, 3.0),
                 beta_rule: str = 'same',
                 per_class_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(calibration, str) and calibration != 'sweep':
            raise ValueError(
                f"GZSLMetric: calibration must be 'sweep' or a number, got "
                f'{calibration!r}')
        if num_betas < 1:
            raise ValueError(f'GZSLMetric: num_betas must be >= 1, got '
                             f'{num_betas}')
        if beta_rule not in BETA_RULES:
            raise ValueError(f'GZSLMetric: beta_rule must be one of '
                             f'{BETA_RULES}, got {beta_rule!r}')
        self.beta_rule = beta_rule
        self.calibration = calibration
        self.betas = np.linspace(beta_range[0], beta_range[1], num_betas)
        self.per_class_file = per_class_file

    @property
    def test_calibration(self) -> Optional[float]:
        """The beta this metric tests with (:func:`effective_test_beta`:
        ``beta_rule`` applied to a fixed ``calibration``); None for a
        sweep."""
        return effective_test_beta(self.calibration, self.beta_rule)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                (torch.as_tensor(sample['distances']).float().cpu(),
                 int(sample['gt_label'])))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        meta = self.dataset_meta or {}
        for key in ('seen_class_ids', 'unseen_class_ids'):
            if key not in meta:
                raise ValueError(
                    f'GZSLMetric: dataset_meta has no {key!r}; the dataset '
                    'must provide seen/unseen class ids in its metainfo')
        distances = torch.stack([r[0] for r in results])
        labels = torch.as_tensor([r[1] for r in results])
        if not torch.isfinite(distances).all():
            raise ValueError('GZSLMetric: the model produced NaN/Inf '
                             'distances; training has diverged')
        seen, unseen = meta['seen_class_ids'], meta['unseen_class_ids']
        betas = (self.betas if self.test_calibration is None else
                 [self.test_calibration])
        best, best_beta = None, None
        for beta in betas:
            scores = gzsl_scores(distances, labels, seen, unseen, float(beta))
            if best is None or scores['HM'] > best['HM']:
                best, best_beta = scores, float(beta)
        metrics = {k: 100.0 * best[k] for k in ('S', 'U', 'HM', 'ZSL')}
        metrics['beta'] = best_beta
        if self.per_class_file:
            self._dump(best, metrics, meta)
        return metrics

    def _dump(self, scores: dict, metrics: dict, meta: dict) -> None:
        names = meta.get('classes')
        per_class = {(names[c] if names else str(c)): 100.0 * acc
                     for c, acc in sorted(scores['per_class'].items())}
        mkdir_or_exist(osp.dirname(osp.abspath(self.per_class_file)))
        from stftbox.fileio.atomic_io import dump_json_atomic
        dump_json_atomic(dict(metrics=metrics, per_class_accuracy=per_class),
                         self.per_class_file)
