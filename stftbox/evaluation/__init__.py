from .gzsl_metric import GZSLMetric, gzsl_scores, harmonic_mean, mean_class_accuracy  # noqa: F401,E501
