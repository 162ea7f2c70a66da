"""What the result plots show (not only their size): a 0 % class has a
marker, the confusion matrix is row-normalised with a labelled colour bar,
a forced beta is not called "chosen", t-SNE labels neither overlap nor
leave the frame."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from stftbox.evaluation.result_plots import (ZERO_LABEL, beta_label,
                                             beta_sweep_figure,
                                             confusion_figure,
                                             per_class_accuracy_figure,
                                             text_extent)
from stftbox.evaluation.results import build_results

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NAMES = ['A', 'B', 'C']
SEEN, UNSEEN = [0, 1], [2]
LABELS = [0, 1, 2, 2, 2]
DIST = np.array([[1.0, 2.0, 1.5],    # A: right at beta 0, C at beta 1
                 [2.0, 0.5, 1.0],    # B: right at beta 0, C at beta 1
                 [1.0, 3.0, 1.8],    # C: A at beta 0, right at beta 1
                 [3.0, 3.0, 0.2],    # C: always right
                 [3.0, 3.0, 0.3]],   # C: always right
                dtype=np.float32)


def _results(beta, source=None):
    return build_results(DIST, LABELS, NAMES, SEEN, UNSEEN, beta,
                         beta_source=source)


def test_zero_percent_classes_get_a_marker():
    """At beta 1 every clip is predicted C: A and B (bars 0 and 1) are at
    0 % and get the x markers; C (100 %) does not."""
    fig = per_class_accuracy_figure(_results(1.0))
    ax = fig.axes[0]
    marks = [c for c in ax.collections if c.get_label() == ZERO_LABEL]
    assert len(marks) == 1
    xy = marks[0].get_offsets()
    assert xy[:, 0].tolist() == [0.0, 1.0] and (xy[:, 1] > 0).all()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert ZERO_LABEL in legend
    fig0 = per_class_accuracy_figure(_results(0.0))   # no class at 0 %
    assert not [c for c in fig0.axes[0].collections
                if c.get_label() == ZERO_LABEL]


def test_confusion_matrix_rows_in_percent_with_a_labelled_colour_bar():
    """Beta 0: A -> A, B -> B, C's 3 clips -> A, C, C. Rows are percent of
    the true class's clips (C: 33 / 67, not 1 / 2 clips)."""
    res = _results(0.0)
    fig = confusion_figure(res, num_classes=3, normalize=True)
    ax, bar = fig.axes[0], fig.axes[1]
    cells = ax.images[0].get_array()
    ids = [0, 2]                       # the confused classes: A and C
    assert cells.shape == (2, 2)
    np.testing.assert_allclose(cells, [[100.0, 0.0], [100 / 3, 200 / 3]])
    assert bar.get_ylabel() == \
        "% of the true class's test clips (row-normalised)"
    assert ax.images[0].get_clim() == (0, 100)
    assert [t.get_text() for t in ax.get_yticklabels()] == \
        [NAMES[i] + (' *' if i in UNSEEN else '') for i in ids]
    counts = confusion_figure(res, num_classes=3, normalize=False)
    np.testing.assert_array_equal(counts.axes[0].images[0].get_array(),
                                  [[1, 0], [1, 2]])
    assert counts.axes[1].get_ylabel() == 'test clips'


@pytest.mark.parametrize('source,label', [
    ('validation', 'chosen beta 0.70 (validation)'),
    ('forced', 'forced beta 0.70 (--beta)'),
    ('config', "config's beta 0.70"),
    (None, 'beta 0.70')])
def test_only_a_validation_beta_is_called_chosen(source, label):
    res = _results(0.7, source)
    assert beta_label(res) == label
    texts = [t.get_text() for t in beta_sweep_figure(res).axes[0].texts]
    assert any(t.startswith(label + '\nHM ') for t in texts)
    assert ('chosen' in ' '.join(texts)) == (source == 'validation')


def test_build_results_checks_the_beta_source():
    assert 'beta_source' not in _results(0.0)
    assert _results(0.0, 'forced')['beta_source'] == 'forced'
    with pytest.raises(ValueError, match='beta_source must be one of'):
        _results(0.0, 'guessed')


def test_tsne_labels_do_not_overlap_and_stay_inside_the_frame():
    """Worst case: eight long names on stars crowded in the middle, two at
    the corners of the frame."""
    spec = importlib.util.spec_from_file_location(
        '_vis', osp.join(REPO, 'tools', 'analysis_tools',
                         'visualize_embeddings.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rng = np.random.default_rng(0)
    stars = rng.normal(size=(10, 2)) * 0.3
    stars[0], stars[1] = (5.0, 5.0), (-5.0, -5.0)
    clips = np.concatenate([s + rng.normal(size=(5, 2)) for s in stars])
    labels = np.repeat(np.arange(10), 5)
    names = [f'a_rather_long_class_name_{i}' for i in range(10)]
    fig = tool.tsne_figure(clips, labels, stars, list(range(10)), names,
                           {7, 8, 9}, 'title')
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    boxes = [text_extent(t, renderer) for t in ax.texts]
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        n + (' (unseen)' if i in (7, 8, 9) else '')
        for i, n in enumerate(names))
    for b in boxes:
        assert frame.x0 <= b.x0 and b.x1 <= frame.x1
        assert frame.y0 <= b.y0 and b.y1 <= frame.y1
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
