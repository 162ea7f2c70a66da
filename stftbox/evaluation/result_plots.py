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
           'plot_results', 'save_figure', 'per_class_accuracy_figure',
           'confusion_figure', 'beta_sweep_figure', 'beta_label',
           'place_labels', 'SEEN_COLOR', 'UNSEEN_COLOR', 'FIGURE_SIZES',
           'DPI', 'ZERO_LABEL', 'BETA_LABELS']

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


def _label_offsets():
    """Candidate text offsets (points) around an anchor, nearest first:
    8 directions at growing radii."""
    dirs = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1),
            (0, -1)]
    return [(r * dx, r * dy) for r in (6, 12, 20, 32, 48, 70, 100)
            for dx, dy in dirs]


def text_extent(art, renderer):
    """Display box of an annotation's text alone (``Annotation.
    get_window_extent`` includes its leader line)."""
    from matplotlib.text import Annotation, Text
    if isinstance(art, Annotation):
        art.update_positions(renderer)
    return Text.get_window_extent(art, renderer)


def place_labels(ax, xy: np.ndarray, labels: Sequence[str],
                 avoid_radius: float = 9.0, **text_kw) -> list:
    """Annotate the points ``xy [K, 2]`` (data coordinates) with
    ``labels`` so that no two labels overlap and every label lies inside
    the axes.

    Greedy, deterministic (no library guarantees both properties): each
    label, on a white box, with a thin leader line when it is not next to
    its point, takes the first offset of
    :func:`_label_offsets` (nearest first, 8 directions) whose text box
    lies inside the axes and overlaps neither a label placed before nor a
    marker (a square of ``avoid_radius`` points around each point); when
    none does, the in-frame offset with the least overlap. The figure is
    drawn once first so that the axes have their final place, and its
    layout engine is then switched off (the boxes stay valid when saved).

    Args:
        ax: a matplotlib ``Axes`` (its figure on the Agg canvas).
        xy (ndarray): ``[K, 2]`` anchor points in data coordinates.
        labels (Sequence[str]): ``K`` texts.
        avoid_radius (float): half-size of the marker squares, in points.
        **text_kw: passed to ``ax.annotate`` (e.g. ``fontsize``).

    Returns:
        list: the ``K`` text artists.
    """
    from matplotlib.transforms import Bbox
    fig = ax.figure
    fig.canvas.draw()
    fig.set_layout_engine('none')
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pad = fig.dpi / 72.0                        # one point in pixels
    disp = ax.transData.transform(np.asarray(xy, dtype=float).reshape(-1, 2))
    r = avoid_radius * pad
    markers = [Bbox.from_extents(x - r, y - r, x + r, y + r)
               for x, y in disp]
    placed, texts = [], []

    def overlap(a, b):
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        return max(w, 0.0) * max(h, 0.0)

    for k, (point, text) in enumerate(zip(xy, labels)):
        best = None
        for dx, dy in _label_offsets():
            far = max(abs(dx), abs(dy)) > 6
            art = ax.annotate(
                text, point, xytext=(dx, dy), textcoords='offset points',
                ha='left' if dx > 0 else 'right' if dx < 0 else 'center',
                va='bottom' if dy > 0 else 'top' if dy < 0 else 'center',
                bbox=dict(boxstyle='round,pad=0.15', fc='white', ec='none',
                          alpha=0.7),
                arrowprops=dict(arrowstyle='-', color='0.4', lw=0.6,
                                shrinkA=0, shrinkB=4) if far else None,
                **text_kw)
            box = text_extent(art, renderer).padded(3 * pad)
            if not (box.x0 >= frame.x0 and box.x1 <= frame.x1
                    and box.y0 >= frame.y0 and box.y1 <= frame.y1):
                art.remove()
                continue
            cost = sum(overlap(box, o) for o in placed) + sum(
                overlap(box, m) for i, m in enumerate(markers) if i != k)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, art, box)
            else:
                art.remove()
            if cost == 0:
                break
        if best is None:   # larger than the frame: nearest offset
            art = ax.annotate(text, point, xytext=(6, 6),
                              textcoords='offset points', **text_kw)
            best = (None, art, text_extent(art, renderer))
        placed.append(best[2])
        texts.append(best[1])
    return texts


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


#: label of the markers of the classes at 0 % (no clip right)
ZERO_LABEL = '0 % (no clip right)'


def per_class_accuracy_figure(results: dict):
    """The figure of :func:`plot_per_class_accuracy` (not saved).

    A class at 0 % has no bar to see, which looks like missing data: it
    gets a black ``x`` marker just above the axis instead (legend
    :data:`ZERO_LABEL`); every class in the results has a test clip
    (:func:`per_class_rows`).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    rows = per_class_rows(results)
    fig = new_figure(FIGURE_SIZES['per_class_accuracy'])
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    colors = [SEEN_COLOR if r['split'] == 'seen' else UNSEEN_COLOR
              for r in rows]
    ax.bar(x, [r['accuracy'] for r in rows], color=colors)
    zero = [i for i, r in enumerate(rows) if r['accuracy'] == 0]
    if zero:
        ax.scatter(x[zero], np.full(len(zero), 1.5), marker='x', s=30,
                   color='k', linewidths=1.5, zorder=3, label=ZERO_LABEL)
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
    handles = [Patch(color=SEEN_COLOR, label='seen (dashed: S)'),
               Patch(color=UNSEEN_COLOR, label='unseen (dashed: U)')]
    if zero:
        handles.append(Line2D([], [], ls='', marker='x', color='k',
                              label=ZERO_LABEL))
    ax.legend(handles=handles, loc='upper left', bbox_to_anchor=(1.0, 1.0))
    return fig


def plot_per_class_accuracy(results: dict, out_file: str) -> str:
    """Bar chart of the GZSL accuracy of every test class at the results'
    beta; seen classes blue, unseen orange, dashed lines at S and U, an
    ``x`` marker on classes at 0 % (:func:`per_class_accuracy_figure`).

    Returns:
        str: ``out_file`` (``FIGURE_SIZES['per_class_accuracy']`` x DPI px).
    """
    return save_figure(per_class_accuracy_figure(results), out_file)


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


def confusion_figure(results: dict, num_classes: int = 15,
                     normalize: bool = True):
    """The figure of :func:`plot_confusion` (not saved); the colour bar is
    labelled with the unit of the cells."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
    ids = most_confused_classes(results, num_classes)
    unseen = set(results['unseen_class_ids'])
    names = [results['class_names'][c] + (' *' if c in unseen else '')
             for c in ids]
    lab = results['labels']
    cm = confusion_matrix(lab, results['predictions'], labels=ids)
    if normalize:   # share of all the clips of the true class, in percent
        total = np.bincount(lab, minlength=len(results['class_names']))[ids]
        cm = 100.0 * cm / np.maximum(total, 1)[:, None]
    fig = new_figure(FIGURE_SIZES['confusion_matrix'])
    ax = fig.add_subplot()
    disp = ConfusionMatrixDisplay(cm, display_labels=names)
    disp.plot(ax=ax, cmap='Blues', colorbar=True, xticks_rotation=90,
              values_format='.0f' if normalize else 'd')
    disp.im_.colorbar.set_label(
        "% of the true class's test clips (row-normalised)" if normalize
        else 'test clips')
    if normalize:
        disp.im_.set_clim(0, 100)
    for lbl in list(ax.get_xticklabels()) + list(ax.get_yticklabels()):
        if lbl.get_text().endswith(' *'):
            lbl.set_color(UNSEEN_COLOR)
    what = '% of each row\'s clips' if normalize else 'clips'
    ax.set_title(f'{len(ids)} most confused classes ({what}; * = unseen), '
                 f"beta {results['beta']:.2f}")
    return fig


def plot_confusion(results: dict, out_file: str, num_classes: int = 15,
                   normalize: bool = True) -> str:
    """Confusion matrix (rows true, columns predicted) among the most
    confused classes (:func:`most_confused_classes`), via
    ``sklearn.metrics.ConfusionMatrixDisplay``; unseen class names are
    marked ``*`` and coloured orange.

    Args:
        results (dict): a results file's dict.
        out_file (str): the PNG to write.
        num_classes (int): classes shown.
        normalize (bool): cells in percent of all the test clips of the
            row's class (rows of classes with many clips, e.g. unseen ones,
            do not dominate the colours; default), or clip counts (False).
            The colour bar names the unit.

    Returns:
        str: ``out_file`` (``FIGURE_SIZES['confusion_matrix']`` x DPI px).
    """
    return save_figure(confusion_figure(results, num_classes, normalize),
                       out_file)


#: how the results' beta is labelled, by ``results['beta_source']``
BETA_LABELS = {'validation': 'chosen beta {beta:.2f} (validation)',
               'forced': 'forced beta {beta:.2f} (--beta)',
               'config': "config's beta {beta:.2f}"}


def beta_label(results: dict) -> str:
    """Label of the results' beta: "chosen" only when it was chosen on
    validation (``results['beta_source'] == 'validation'``, see
    :mod:`stftbox.evaluation.results`); a beta forced with ``--beta`` reads
    ``forced beta``, one of unknown origin just ``beta``."""
    fmt = BETA_LABELS.get(results.get('beta_source'), 'beta {beta:.2f}')
    return fmt.format(beta=float(results['beta']))


def beta_sweep_figure(results: dict,
                      betas: Optional[Sequence[float]] = None):
    """The figure of :func:`plot_beta_sweep` (not saved)."""
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
    ax.annotate(f"{beta_label(results)}\nHM {sweep['HM'][i]:.1f}",
                (beta, sweep['HM'][i]), textcoords='offset points',
                xytext=(8, 12), bbox=dict(boxstyle='round', fc='white',
                                          alpha=0.8))
    ax.set_xlabel('calibration beta (added to seen-class distances)')
    ax.set_ylabel('accuracy (%)')
    ax.set_ylim(0, 100)
    ax.set_title('Calibrated stacking: seen/unseen trade-off')
    ax.legend(loc='best')
    return fig


def plot_beta_sweep(results: dict, out_file: str,
                    betas: Optional[Sequence[float]] = None) -> str:
    """S, U and HM over the calibration beta (:func:`beta_sweep`), the
    results' beta marked by a vertical line and its HM point, labelled by
    :func:`beta_label` ("chosen" only for a beta chosen on validation).

    Returns:
        str: ``out_file`` (``FIGURE_SIZES['calibration_curve']`` x DPI px).
    """
    return save_figure(beta_sweep_figure(results, betas), out_file)


def plot_results(results: dict, out_dir: str, num_classes: int = 15,
                 normalize: bool = True) -> Dict[str, str]:
    """All three plots into ``out_dir``: ``per_class_accuracy.png``,
    ``confusion_matrix.png`` (row-normalised unless ``normalize=False``),
    ``calibration_curve.png``.

    Returns:
        dict: plot name (key of :data:`FIGURE_SIZES`) -> file path.
    """
    return dict(
        per_class_accuracy=plot_per_class_accuracy(
            results, osp.join(out_dir, 'per_class_accuracy.png')),
        confusion_matrix=plot_confusion(
            results, osp.join(out_dir, 'confusion_matrix.png'), num_classes,
            normalize),
        calibration_curve=plot_beta_sweep(
            results, osp.join(out_dir, 'calibration_curve.png')))
