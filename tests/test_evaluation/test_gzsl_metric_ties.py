"""GZSLMetric predictions equal the reference evaluation's arg-min rule
(TCaF/AVCA-GZSL ``get_best_evaluation``): the class axis is in
``all_class.txt`` order, non-candidates are +inf and an exact tie goes to the
lowest class index -- also when a seen class ties with an unseen one."""
import random

import pytest
import torch

from stftbox.evaluation import gzsl_scores
from stftbox.evaluation.gzsl_metric import harmonic_mean


def reference_predict(row, candidates, seen, beta):
    """Hand-written arg-min: lowest class index among the minima."""
    best, best_c = float('inf'), None
    for c in range(len(row)):  # all_class.txt order
        if c not in candidates:
            continue
        v = float(torch.tensor(row[c]).float() + (beta if c in seen else 0.0))
        if best_c is None or v < best:
            best, best_c = v, c
    return best_c


def reference_scores(dist, labels, seen, unseen, beta):
    def mca(pred, lab, ids):
        accs = [sum(p == c for p, y in zip(pred, lab) if y == c) /
                sum(y == c for y in lab) for c in ids if c in lab]
        return sum(accs) / len(accs) if accs else 0.0
    lab = labels.tolist()
    rows = dist.tolist()
    pred = [reference_predict(r, set(seen) | set(unseen), set(seen), beta)
            for r in rows]
    s, u = mca(pred, lab, seen), mca(pred, lab, unseen)
    zrows = [(r, y) for r, y in zip(rows, lab) if y in unseen]
    zpred = [reference_predict(r, set(unseen), set(), 0.0) for r, _ in zrows]
    zsl = mca(zpred, [y for _, y in zrows], unseen)
    return dict(S=s, U=u, HM=harmonic_mean(s, u), ZSL=zsl)


def test_seen_unseen_tie_goes_to_lowest_class_index():
    # class 0 unseen, class 1 seen: equal distances (beta 0) -> class 0
    dist = torch.tensor([[1.0, 1.0, 3.0], [1.0, 1.0, 3.0]])
    labels = torch.tensor([0, 1])
    s = gzsl_scores(dist, labels, seen_ids=[1, 2], unseen_ids=[0], beta=0.0)
    # the seen sample (label 1) is predicted as the unseen class 0
    assert s['S'] == 0.0
    assert s['U'] == 1.0
    # the lowest index is now the seen class 0: both samples -> class 0
    s = gzsl_scores(dist, labels, seen_ids=[0, 2], unseen_ids=[1], beta=0.0)
    assert s['S'] == 1.0 and s['U'] == 0.0


@pytest.mark.parametrize('seed', range(5))
def test_quantised_distances_equal_reference(seed):
    rng = random.Random(seed)
    n_cls = 9
    classes = list(range(n_cls))
    rng.shuffle(classes)
    seen, unseen = sorted(classes[:5]), sorted(classes[5:8])  # 1 non-candidate
    # quantised distances: many exact ties, including across seen/unseen
    dist = torch.tensor([[rng.choice([0.5, 1.0, 1.5]) for _ in range(n_cls)]
                         for _ in range(60)])
    labels = torch.tensor([rng.choice(seen + unseen) for _ in range(60)])
    for beta in (0.0, 0.5, 1.0):
        ours = gzsl_scores(dist, labels, seen, unseen, beta)
        ref = reference_scores(dist, labels, seen, unseen, beta)
        for k in ('S', 'U', 'HM', 'ZSL'):
            assert ours[k] == ref[k], (k, beta)


def test_dump_table_and_inference_follow_the_metrics_rule():
    # one rule for every GZSL decision: the --dump predictions, the
    # --per-class table and the inference ranking agree with the metric on
    # exact ties (seen class 3 + beta == unseen class 1: the lowest id, 1)
    import numpy as np

    from stftbox.evaluation import build_results, calibrated_predictions
    from stftbox.evaluation.results import per_class_rows
    seen, unseen, beta = [0, 3], [1, 2], 0.25
    dist = torch.tensor([[2.0, 1.25, 2.0, 1.0],    # tie 3 (seen) vs 1
                         [0.5, 0.75, 0.75, 0.9],   # tie 0 (seen) vs 1, 2
                         [2.0, 1.0, 1.0, 3.0],     # unseen tie 1 vs 2
                         [0.0, 3.0, 3.0, 0.0]])    # seen tie 0 vs 3
    labels = torch.tensor([3, 1, 2, 0])
    want = [reference_predict(r, set(seen + unseen), set(seen), beta)
            for r in dist.tolist()]
    assert want == [1, 0, 1, 0]
    assert calibrated_predictions(dist, seen, unseen, beta).tolist() == want
    res = build_results(dist, labels, ['a', 'b', 'c', 'd'], seen, unseen,
                        beta)
    assert res['predictions'].tolist() == want
    assert res['zsl_predictions'].tolist() == [1, 1, 1, 1]
    metric = gzsl_scores(dist, labels, seen, unseen, beta)
    rows = {r['id']: r['accuracy'] for r in per_class_rows(res)}
    assert rows == {0: 100.0, 3: 0.0, 1: 0.0, 2: 0.0}
    assert np.mean([rows[0], rows[3]]) == pytest.approx(100 * metric['S'])
    assert np.mean([rows[1], rows[2]]) == pytest.approx(100 * metric['U'])
    assert res['metrics']['U'] == pytest.approx(100 * metric['U'])
