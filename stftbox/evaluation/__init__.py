from .gzsl_metric import (GZSLMetric, calibrated_distances,  # noqa: F401
                          calibrated_predictions, gzsl_scores, harmonic_mean,
                          mean_class_accuracy, zsl_predictions)
from .results import (GZSLResultsDumper, beta_sweep, build_results,  # noqa: F401,E501
                      dump_results, format_per_class_table, load_results)
