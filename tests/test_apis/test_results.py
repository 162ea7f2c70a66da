"""Per-clip results (stftbox.evaluation.results) and their plots
(stftbox.evaluation.result_plots) on a hand-computed 4-clip example."""
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from stftbox.datasets import UnsafePickleError
from stftbox.evaluation import gzsl_scores
from stftbox.evaluation.result_plots import (DPI, FIGURE_SIZES,
                                             most_confused_classes,
                                             plot_results)
from stftbox.evaluation.results import (GZSLResultsDumper, beta_sweep,
                                        build_results, dump_results,
                                        format_per_class_table,
                                        load_results, per_class_rows)

NAMES = ['A', 'B', 'C']
SEEN, UNSEEN = [0, 1], [2]
LABELS = [0, 1, 2, 2]
# rows: clips; columns: classes A, B, C
DIST = np.array([[1.0, 2.0, 1.5],    # A: right at beta 0, C at beta 1
                 [2.0, 0.5, 1.0],    # B: right at beta 0, C at beta 1
                 [1.0, 3.0, 1.8],    # C: A at beta 0, right at beta 1
                 [3.0, 3.0, 0.2]],   # C: always right
                dtype=np.float32)


def results(beta=0.0):
    return build_results(DIST, LABELS, NAMES, SEEN, UNSEEN, beta,
                         clip_names=['c0', 'c1', 'c2', 'c3'])


def test_build_results_hand_computed():
    r0 = results(0.0)
    assert r0['predictions'].tolist() == [0, 1, 0, 2]
    assert r0['zsl_predictions'].tolist() == [2, 2, 2, 2]
    assert r0['metrics']['S'] == pytest.approx(100.0)
    assert r0['metrics']['U'] == pytest.approx(50.0)
    assert r0['metrics']['HM'] == pytest.approx(200 / 3)
    assert r0['metrics']['ZSL'] == pytest.approx(100.0)
    r1 = results(1.0)
    assert r1['predictions'].tolist() == [2, 2, 2, 2]
    assert (r1['metrics']['S'], r1['metrics']['U']) == (0.0, 100.0)
    assert r1['beta'] == 1.0 and r1['clip_names'][3] == 'c3'
    # the same rule as the metric
    sc = gzsl_scores(torch.from_numpy(DIST), torch.tensor(LABELS), SEEN,
                     UNSEEN, 0.0)
    assert r0['metrics']['HM'] == pytest.approx(100 * sc['HM'])


def test_build_results_errors():
    with pytest.raises(ValueError, match='do not fit'):
        build_results(DIST[:, :2], LABELS, NAMES, SEEN, UNSEEN, 0.0)
    bad = DIST.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match='NaN/Inf'):
        build_results(bad, LABELS, NAMES, SEEN, UNSEEN, 0.0)
    with pytest.raises(ValueError, match=r'in \[0, 3\)'):
        build_results(DIST, [0, 1, 2, 5], NAMES, SEEN, UNSEEN, 0.0)


def test_per_class_rows_and_table():
    rows = per_class_rows(results(0.0))
    assert [(r['name'], r['split'], r['clips'], r['accuracy'])
            for r in rows] == [('A', 'seen', 1, 100.0),
                               ('B', 'seen', 1, 100.0),
                               ('C', 'unseen', 2, 50.0)]
    table = format_per_class_table(results(0.0))
    assert 'beta 0.00' in table
    assert any(ln.split()[1:] == ['C', 'unseen', '2', '50.00']
               for ln in table.splitlines())
    assert 'mean seen   (2 classes): 100.00  (S)' in table
    assert 'mean unseen (1 classes): 50.00  (U)' in table


def test_beta_sweep_matches_scores():
    sw = beta_sweep(results(0.7), betas=[0.0, 1.0])
    assert sw['beta'].tolist() == [0.0, 0.7, 1.0]  # chosen beta included
    assert sw['S'].tolist() == pytest.approx([100.0, 0.0, 0.0])
    assert sw['U'].tolist() == pytest.approx([50.0, 50.0, 100.0])
    assert sw['HM'][0] == pytest.approx(200 / 3)
    default = beta_sweep(results(4.0))
    assert default['beta'][0] == 0.0 and default['beta'][-1] == 6.0


def test_dump_load_roundtrip(tmp_path):
    path = tmp_path / 'sub' / 'preds.pkl'
    dump_results(results(0.0), str(path))
    assert [p.name for p in path.parent.iterdir()] == ['preds.pkl']
    back = load_results(str(path))
    np.testing.assert_array_equal(back['distances'], DIST)
    assert back['predictions'].tolist() == [0, 1, 0, 2]
    assert back['class_names'] == NAMES
    assert back['seen_class_ids'] == SEEN


def test_load_results_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        load_results(str(tmp_path / 'nope.pkl'))
    p = tmp_path / 'list.pkl'
    p.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match='expected a dict'):
        load_results(str(p))
    r = results()
    del r['labels']
    p = tmp_path / 'partial.pkl'
    p.write_bytes(pickle.dumps(r))
    with pytest.raises(ValueError, match=r"missing keys \['labels'\]"):
        load_results(str(p))
    r = results()
    r['labels'] = r['labels'][:2]
    p.write_bytes(pickle.dumps(r))
    with pytest.raises(ValueError, match='inconsistent shapes'):
        load_results(str(p))
    p = tmp_path / 'evil.pkl'
    p.write_bytes(pickle.dumps({'x': os.system}))
    with pytest.raises(UnsafePickleError):
        load_results(str(p))


def test_results_dumper_metric(tmp_path):
    out = tmp_path / 'd.pkl'
    metric = GZSLResultsDumper(out_file=str(out), calibration=1.0)
    metric.dataset_meta = dict(classes=tuple(NAMES), seen_class_ids=SEEN,
                               unseen_class_ids=UNSEEN)
    metric.process(None, [dict(distances=torch.from_numpy(d), gt_label=g)
                          for d, g in zip(DIST, LABELS)])
    assert metric.compute_metrics(metric.results) == {}
    back = load_results(str(out))
    assert back['predictions'].tolist() == [2, 2, 2, 2]
    assert back['beta'] == 1.0
    with pytest.raises(ValueError, match='.pkl'):
        GZSLResultsDumper(out_file=str(tmp_path / 'd.json'))


def test_plots_have_expected_size(tmp_path):
    files = plot_results(results(0.0), str(tmp_path / 'plots'))
    assert set(files) == set(FIGURE_SIZES)
    for name, path in files.items():
        w, h = FIGURE_SIZES[name]
        with Image.open(path) as img:
            img.load()
            assert img.size == (round(w * DPI), round(h * DPI)), name
            assert img.format == 'PNG'
    assert sorted(os.listdir(tmp_path / 'plots')) == sorted(
        os.path.basename(p) for p in files.values())  # no temp files left


def test_most_confused_classes():
    # errors: clip 2 (C predicted A): C and A involved once each
    assert most_confused_classes(results(0.0), 1) in ([0], [2])
    assert most_confused_classes(results(0.0), 2) == [0, 2]
    # no errors at all: the first classes with clips
    r = build_results(DIST, [0, 1, 0, 2], NAMES, SEEN, UNSEEN, 0.0)
    assert most_confused_classes(r, 2) == [0, 1]
