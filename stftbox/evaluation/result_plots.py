"""Plots of a GZSL results file (:mod:`stftbox.evaluation.results`):
per-class accuracy, the most confused classes, and the S/U/HM calibration
curve. matplotlib's object API with the Agg canvas (no pyplot state, no
display needed); every figure has a fixed size in pixels
(``figsize * dpi``, no tight bounding box) so callers can rely on it.
"""
import os
import os.path as osp
import tempfile
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .results import beta_sweep, per_class_rows

__all__ = ['plot_per_class_accuracy', 'plot_confusion', 'plot_beta_sweep',
           'plot_results', 'save_figure', 'SEEN_COLOR', 'UNSEEN_COLOR',
           'FIGURE_SIZES', 'DPI']

SEEN_COLOR = '#1f77b4'    # blue
UNSEEN_COLOR = '#ff7f0e'  # orange
DPI = 100
#: figure sizes in inches (x DPI = pixels)
FIGURE_SIZES = dict(per_class_accuracy=(12.0, 5.0),
                    confusion_matrix=(9.0, 8.0),
                    calibration_curve=(7.0, 4.5))


def new_figure(size: Tuple[float, float]):
    """A matplotlib ``Figure`` on the Agg canvas, constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, dpi=DPI, layout='constrained')
    FigureCanvasAgg(fig)
    return fig


def _umask() -> int:
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_figure(fig, path: str) -> str:
    """Save ``fig`` as PNG at ``path`` atomically (temporary file + rename);
    the image is exactly ``figsize * dpi`` pixels. Returns the path."""
    path = osp.abspath(path)
    os.makedirs(osp.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.plot-', suffix='.png',
                               dir=osp.dirname(path))
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0o600
        fig.savefig(tmp, dpi=fig.dpi, format='png')
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    return path


def plot_per_class_accuracy(results: dict, out_file: str) -> str:
    """Bar chart of the GZSL accuracy of every test class at the results'
    beta; seen classes blue, unseen orange, dashed lines at S and U.

    Returns:
        str: ``out_file`` (``FIGURE_SIZES['per_class_accuracy']`` x DPI px).
    """
    from matplotlib.patches import Patch
    rows = per_class_rows(results)
    fig = new_figure(FIGURE_SIZES['per_class_accuracy'])
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    colors = [SEEN_COLOR if r['split'] == 'seen' else UNSEEN_COLOR
              for r in rows]
    ax.bar(x, [r['accuracy'] for r in rows], color=colors)
    ax.set_xticks(x, [r['name'] for r in rows], rotation=90,
                  fontsize=max(4, min(9, 400 // max(len(rows), 1))))
    for split, color, key in (('seen', SEEN_COLOR, 'S'),
                              ('unseen', UNSEEN_COLOR, 'U')):
        accs = [r['accuracy'] for r in rows if r['split'] == split]
        if accs:
            ax.axhline(np.mean(accs), color=color, ls='--', lw=1)
    ax.set_ylim(0, 100)
    ax.set_ylabel('accuracy (%)')
    m = results['metrics']
    ax.set_title(f"Per-class GZSL accuracy, beta {results['beta']:.2f} "
                 f"(S {m['S']:.1f}, U {m['U']:.1f}, HM {m['HM']:.1f})")
    ax.legend(handles=[Patch(color=SEEN_COLOR, label='seen (dashed: S)'),
                       Patch(color=UNSEEN_COLOR,
                             label='unseen (dashed: U)')],
              loc='upper left', bbox_to_anchor=(1.0, 1.0))
    return save_figure(fig, out_file)


def most_confused_classes(results: dict, num_classes: int = 15
                          ) -> Sequence[int]:
    """Ids of the ``num_classes`` classes with the most errors, counting a
    class's wrongly predicted clips and the clips wrongly predicted as it
    (GZSL predictions at the results' beta). Sorted by id."""
    lab, pred = results['labels'], results['predictions']
    wrong = lab != pred
    score = np.bincount(lab[wrong], minlength=len(results['class_names'])) \
        + np.bincount(pred[wrong], minlength=len(results['class_names']))
    order = np.argsort(-score, kind='stable')
    chosen = [int(c) for c in order[:num_classes] if score[c] > 0]
    if not chosen:  # no error at all: the first classes with clips
        chosen = sorted(set(lab.tolist()))[:num_classes]
    return sorted(chosen)


def plot_confusion(results: dict, out_file: str,
                   num_classes: int = 15) -> str:
    """Confusion matrix (clip counts, rows true, columns predicted) among
    the most confused classes (:func:`most_confused_classes`), via
    ``sklearn.metrics.ConfusionMatrixDisplay``; unseen class names are
    marked ``*`` and coloured orange.

    Returns:
        str: ``out_file`` (``FIGURE_SIZES['confusion_matrix']`` x DPI px).
    """
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
    ids = most_confused_classes(results, num_classes)
    unseen = set(results['unseen_class_ids'])
    names = [results['class_names'][c] + (' *' if c in unseen else '')
             for c in ids]
    cm = confusion_matrix(results['labels'], results['predictions'],
                          labels=ids)
    fig = new_figure(FIGURE_SIZES['confusion_matrix'])
    ax = fig.add_subplot()
    disp = ConfusionMatrixDisplay(cm, display_labels=names)
    disp.plot(ax=ax, cmap='Blues', colorbar=True, xticks_rotation=90,
              values_format='d')
    for lbl in list(ax.get_xticklabels()) + list(ax.get_yticklabels()):
        if lbl.get_text().endswith(' *'):
            lbl.set_color(UNSEEN_COLOR)
    ax.set_title(f'{len(ids)} most confused classes (clips; * = unseen), '
                 f"beta {results['beta']:.2f}")
    return save_figure(fig, out_file)


def plot_beta_sweep(results: dict, out_file: str,
                    betas: Optional[Sequence[float]] = None) -> str:
    """S, U and HM over the calibration beta (:func:`beta_sweep`), the
    results' beta marked by a vertical line and its HM point.

    Returns:
        str: ``out_file`` (``FIGURE_SIZES['calibration_curve']`` x DPI px).
    """
    sweep = beta_sweep(results, betas)
    fig = new_figure(FIGURE_SIZES['calibration_curve'])
    ax = fig.add_subplot()
    ax.plot(sweep['beta'], sweep['S'], color=SEEN_COLOR, label='S (seen)')
    ax.plot(sweep['beta'], sweep['U'], color=UNSEEN_COLOR,
            label='U (unseen)')
    ax.plot(sweep['beta'], sweep['HM'], color='k', lw=2, label='HM')
    beta = float(results['beta'])
    i = int(np.argmin(np.abs(sweep['beta'] - beta)))
    ax.axvline(beta, color='grey', ls='--', lw=1)
    ax.plot([beta], [sweep['HM'][i]], 'o', color='k')
    ax.annotate(f"chosen beta {beta:.2f}\nHM {sweep['HM'][i]:.1f}",
                (beta, sweep['HM'][i]), textcoords='offset points',
                xytext=(8, 12), bbox=dict(boxstyle='round', fc='white',
                                          alpha=0.8))
    ax.set_xlabel('calibration beta (added to seen-class distances)')
    ax.set_ylabel('accuracy (%)')
    ax.set_ylim(0, 100)
    ax.set_title('Calibrated stacking: seen/unseen trade-off')
    ax.legend(loc='best')
    return save_figure(fig, out_file)


def plot_results(results: dict, out_dir: str,
                 num_classes: int = 15) -> Dict[str, str]:
    """All three plots into ``out_dir``: ``per_class_accuracy.png``,
    ``confusion_matrix.png``, ``calibration_curve.png``.

    Returns:
        dict: plot name (key of :data:`FIGURE_SIZES`) -> file path.
    """
    return dict(
        per_class_accuracy=plot_per_class_accuracy(
            results, osp.join(out_dir, 'per_class_accuracy.png')),
        confusion_matrix=plot_confusion(
            results, osp.join(out_dir, 'confusion_matrix.png'), num_classes),
        calibration_curve=plot_beta_sweep(
            results, osp.join(out_dir, 'calibration_curve.png')))
