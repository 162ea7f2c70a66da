"""Public helpers named in review document their arguments, results and
errors (house rule: Args/Returns/Raises, with shapes where tensors go)."""
import inspect

import pytest

from stftbox.apis.inference import project_class_embeddings
from stftbox.engine.runner import apply_config_optimizer
from stftbox.extractors.av_extractor import (AVFeatureExtractor,
                                             build_extractor)
from stftbox.fileio.atomic_io import atomic_torch_save, atomic_write_text


@pytest.mark.parametrize('func, shape', [
    (AVFeatureExtractor.frame_times, 'T_v'),
    (apply_config_optimizer, None),
    (project_class_embeddings, '[C, D_t]'),
    (build_extractor, '[T_v, D_v]'),
    (atomic_write_text, None),
    (atomic_torch_save, None)])
def test_documented(func, shape):
    doc = inspect.getdoc(func) or ''
    for section in ('Args:', 'Returns:', 'Raises:'):
        if func is atomic_torch_save and section == 'Returns:':
            continue  # returns nothing; says what it raises
        assert section in doc, (func.__qualname__, section)
    if shape:
        assert shape in doc, func.__qualname__
