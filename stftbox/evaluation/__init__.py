from .gzsl_metric import GZSLMetric, gzsl_scores, harmonic_mean, mean_class_accuracy  # noqa: F401,E501
from .results import (GZSLResultsDumper, beta_sweep, build_results,  # noqa: F401,E501
                      dump_results, format_per_class_table, load_results)
