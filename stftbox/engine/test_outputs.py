"""The extra outputs of ``tools/test.py``: ``--dump preds.pkl``,
``--per-class`` and ``--show-dir DIR`` (see
:mod:`stftbox.evaluation.results` for the file's contents)."""
import copy
import os.path as osp
from typing import Any, Optional, Tuple

__all__ = ['add_results_dumper', 'finish_results', 'results_file_arg',
           'config_test_beta']

_GZSL_TYPES = ('GZSLMetric', 'stftbox.GZSLMetric')


def config_test_beta(test_evaluator) -> Optional[float]:
    """The beta the config's ``GZSLMetric`` tests with: its
    ``calibration`` turned by its ``beta_rule``
    (:func:`stftbox.evaluation.gzsl_metric.effective_test_beta`), the same
    value the metric, the per-clip results and the printed line use.

    Args:
        test_evaluator (dict | list[dict]): ``cfg.test_evaluator``.

    Returns:
        float | None: the test beta; None for ``calibration='sweep'`` or
        when there is no ``GZSLMetric``.

    Raises:
        ValueError: an unknown ``beta_rule``.
    """
    from stftbox.evaluation.gzsl_metric import effective_test_beta
    evaluators = list(test_evaluator) \
        if isinstance(test_evaluator, (list, tuple)) else [test_evaluator]
    for e in evaluators:
        if e.get('type') in _GZSL_TYPES:
            return effective_test_beta(e.get('calibration', 'sweep'),
                                       e.get('beta_rule', 'same'))
    return None


def results_file_arg(value: str) -> str:
    """argparse ``type=`` of ``--dump``: a path ending in ``.pkl``.

    Raises:
        argparse.ArgumentTypeError: another suffix.
    """
    import argparse
    if not str(value).endswith(('.pkl', '.pickle')):
        raise argparse.ArgumentTypeError(
            f'{value!r}: the results file must end in .pkl')
    return value


def add_results_dumper(cfg, dump: Optional[str], per_class: bool,
                       show_dir: Optional[str]) -> Tuple[Optional[str], Any]:
    """A copy of ``cfg`` with :class:`~stftbox.evaluation.GZSLResultsDumper`
    added to its ``test_evaluator`` when any of the three outputs is asked
    for (``cfg`` itself is left unchanged).

    The results go to ``dump``, or to ``<work_dir>/preds.pkl`` when only
    ``per_class``/``show_dir`` are set. Call after the calibration beta is
    final (``cfg.test_evaluator.calibration``); the stored predictions use
    the test beta (:func:`config_test_beta`, ``beta_rule`` applied).

    Returns:
        (path, cfg): the results file path and the config to build the
        Runner from; ``(None, cfg)`` when nothing is asked.

    Raises:
        ValueError: ``dump`` does not end in ``.pkl``.
    """
    if not (dump or per_class or show_dir):
        return None, cfg
    path = dump or osp.join(cfg.work_dir, 'preds.pkl')
    if not str(path).endswith(('.pkl', '.pickle')):
        raise ValueError(f'--dump {path}: the results file must end in .pkl')
    evaluators = cfg.test_evaluator
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) \
        else [evaluators]
    beta = config_test_beta(evaluators)
    beta = 0.0 if beta is None else beta
    evaluators.append(dict(type='GZSLResultsDumper', out_file=str(path),
                           calibration=beta))
    cfg = copy.deepcopy(cfg)
    cfg.test_evaluator = evaluators
    return str(path), cfg


def finish_results(path: Optional[str], runner, per_class: bool = False,
                   show_dir: Optional[str] = None,
                   beta_source: Optional[str] = None) -> Optional[dict]:
    """After ``runner.test()``: add the clip names and ``beta_source`` (see
    :mod:`stftbox.evaluation.results`) to the results file, print its path
    (``per-clip results: <path>``), print the per-class table
    (``per_class``) and write the plots into ``show_dir``
    (``per_class_accuracy.png``, ``confusion_matrix.png``,
    ``calibration_curve.png``).

    Returns:
        dict | None: the results (None when ``path`` is None).
    """
    if path is None:
        return None
    from mmengine.dist import is_main_process

    from stftbox.evaluation.results import (dump_results,
                                            format_per_class_table,
                                            load_results)
    if not is_main_process():
        return None
    results = load_results(path)
    names = getattr(runner.test_dataloader.dataset, 'clip_names', None)
    changed = False
    if names is not None and len(names) == len(results['labels']):
        results['clip_names'] = [str(n) for n in names]
        changed = True
    if beta_source is not None:
        results['beta_source'] = beta_source
        changed = True
    if changed:
        dump_results(results, path)
    print(f'per-clip results: {osp.abspath(path)}')
    if per_class:
        print(format_per_class_table(results))
    if show_dir:
        from stftbox.evaluation.result_plots import plot_results
        for name, file in plot_results(results, show_dir).items():
            print(f'{name}: {file}')
    return results
