import json

import pytest
import torch

from stftbox.evaluation import GZSLMetric, gzsl_scores

# 5 classes: 0, 1 seen; 2, 3 unseen; 4 outside the split (never a candidate).
# Rows: L2 distance of a clip to each class. Hand-worked outcomes:
#   beta = 0  : class0 2/3, class1 1/1 -> S 5/6; class2 1/2, class3 0 -> U 1/4
#   beta = 1.2: class0 1/3, class1 1/1 -> S 2/3; class2 2/2, class3 1 -> U 1
DIST = torch.tensor([
    [1.0, 5, 5.0, 5, 0],  # label 0: right for every beta < 4
    [1.0, 5, 1.5, 5, 0],  # label 0: right while beta < 0.5
    [2.0, 5, 1.0, 5, 9],  # label 0: always wrong (unseen 2 is closer)
    [5.0, 1, 5.0, 5, 9],  # label 1: right for every beta < 4
    [1.0, 5, 2.0, 5, 9],  # label 2: right once beta > 1
    [5.0, 5, 1.0, 2, 9],  # label 2: always right
    [1.0, 5, 3.0, 2, 9],  # label 3: right once beta > 1
])
LABELS = torch.tensor([0, 0, 0, 1, 2, 2, 3])
META = dict(seen_class_ids=[0, 1], unseen_class_ids=[2, 3],
            classes=('a', 'b', 'c', 'd', 'e'))


def run_metric(metric):
    metric.dataset_meta = META
    metric.process({}, [dict(distances=d, gt_label=int(y))
                        for d, y in zip(DIST, LABELS)])
    return metric.evaluate(len(LABELS))


def test_scores_without_calibration():
    s = gzsl_scores(DIST, LABELS, [0, 1], [2, 3], beta=0.0)
    assert s['S'] == pytest.approx(5 / 6)
    assert s['U'] == pytest.approx(1 / 4)
    assert s['HM'] == pytest.approx(2 * (5 / 6) * 0.25 / (5 / 6 + 0.25))
    assert s['ZSL'] == pytest.approx(1.0)
    # mean class accuracy differs from overall accuracy on seen samples (3/4)
    assert s['S'] != pytest.approx(3 / 4)


def test_sweep_picks_beta_with_best_hm():
    res = run_metric(GZSLMetric(calibration='sweep'))
    assert res['gzsl/beta'] == pytest.approx(1.2)
    assert res['gzsl/S'] == pytest.approx(100 * 2 / 3)
    assert res['gzsl/U'] == pytest.approx(100.0)
    assert res['gzsl/HM'] == pytest.approx(80.0)
    assert res['gzsl/ZSL'] == pytest.approx(100.0)


def test_fixed_beta_is_not_swept():
    res = run_metric(GZSLMetric(calibration=0.0))
    assert res['gzsl/beta'] == 0.0
    assert res['gzsl/HM'] == pytest.approx(100 * 0.38461538)


def test_per_class_dump(tmp_path):
    out = tmp_path / 'sub' / 'per_class.json'
    run_metric(GZSLMetric(calibration=0.0, per_class_file=str(out)))
    data = json.loads(out.read_text())
    assert data['per_class_accuracy'] == pytest.approx(
        {'a': 100 * 2 / 3, 'b': 100.0, 'c': 50.0, 'd': 0.0})


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='calibration'):
        GZSLMetric(calibration='best')
    metric = GZSLMetric()
    metric.dataset_meta = dict(classes=('a',))
    metric.process({}, [dict(distances=DIST[0], gt_label=0)])
    with pytest.raises(ValueError, match='seen_class_ids'):
        metric.evaluate(1)
    metric = GZSLMetric()
    metric.dataset_meta = META
    metric.process({}, [dict(distances=DIST[0] * float('nan'), gt_label=0)])
    with pytest.raises(ValueError, match='NaN'):
        metric.evaluate(1)


def test_peer_beta_grid_and_test_rule_are_config():
    """ClipClap-GZSL's sweep (76 values in [0, 5]) finds the first grid
    value above 1 (16/15), the default grid (16 in [0, 3]) 1.2; its test
    beta rule (3 * beta + 1e-10) / 3 applies to a fixed calibration."""
    from stftbox.evaluation.gzsl_metric import test_beta
    res = run_metric(GZSLMetric(num_betas=76, beta_range=(0.0, 5.0)))
    assert res['gzsl/beta'] == pytest.approx(16 / 15)
    assert res['gzsl/HM'] == pytest.approx(80.0)
    res = run_metric(GZSLMetric(calibration=1.2, beta_rule='clipclap'))
    assert res['gzsl/beta'] == (3 * 1.2 + 1e-10) / 3 != 1.2
    assert test_beta(1.2) == 1.2
    with pytest.raises(ValueError, match='beta_rule'):
        GZSLMetric(beta_rule='half')
    with pytest.raises(ValueError, match='rule'):
        test_beta(1.0, 'half')
