"""The per-clip results of tools/test.py use the same test beta as the
metric (beta_rule applied once, in effective_test_beta)."""
from mmengine.config import Config

from stftbox.engine.test_outputs import add_results_dumper, config_test_beta
from stftbox.evaluation import GZSLMetric
from stftbox.evaluation.gzsl_metric import effective_test_beta


def test_dumper_and_print_use_the_metrics_test_beta(tmp_path):
    clipclap = (3 * 1.2 + 1e-10) / 3  # ClipClap-GZSL get_evaluation.py
    assert clipclap != 1.2
    metric = GZSLMetric(calibration=1.2, beta_rule='clipclap')
    assert metric.test_calibration == clipclap
    assert GZSLMetric(calibration=1.2).test_calibration == 1.2
    assert GZSLMetric().test_calibration is None  # sweep
    assert effective_test_beta('sweep', 'clipclap') is None
    cfg = Config(dict(work_dir=str(tmp_path), test_evaluator=dict(
        type='GZSLMetric', calibration=1.2, beta_rule='clipclap')))
    assert config_test_beta(cfg.test_evaluator) == clipclap
    path, run_cfg = add_results_dumper(cfg, None, True, None)
    assert path == str(tmp_path / 'preds.pkl')
    gzsl, dumper = run_cfg.test_evaluator
    assert dumper['type'] == 'GZSLResultsDumper'
    assert dumper['calibration'] == clipclap
    assert gzsl['calibration'] == 1.2  # the metric applies the rule itself
    assert config_test_beta([dict(type='Other')]) is None
