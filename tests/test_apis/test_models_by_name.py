"""Models by name (stftbox.apis.list_models / get_model), as mmpretrain's,
driven by the metafiles; init_model / inference_model take a name."""
import os.path as osp

import numpy as np
import pytest
import torch

from stftbox.apis import (get_model, inference_model, init_model,
                          list_models)
from stftbox.fileio import ModelZooError, get_entry, safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = 'stft_demo_ucf_surrogate'
ALL = ['stft_activitynet_cls', 'stft_activitynet_main',
       'stft_demo_ucf_surrogate', 'stft_ucf_cls', 'stft_ucf_main',
       'stft_vggsound_cls', 'stft_vggsound_main']


@pytest.fixture(autouse=True)
def repo_zoo(monkeypatch):
    monkeypatch.delenv('STFTBOX_MODEL_ZOO', raising=False)


def test_list_models_patterns():
    assert list_models() == ALL
    assert list_models('stft_ucf') == ['stft_ucf_cls', 'stft_ucf_main']
    assert list_models('STFT_UCF') == ['stft_ucf_cls', 'stft_ucf_main']
    assert list_models('*_main') == ['stft_activitynet_main',
                                     'stft_ucf_main', 'stft_vggsound_main']
    assert list_models('*cls', exclude_patterns=['stft_vgg']) == [
        'stft_activitynet_cls', 'stft_ucf_cls']
    assert list_models(released=True) == [DEMO]
    assert len(list_models(released=False)) == len(ALL) - 1
    assert list_models('resnet') == []


def test_get_model_random_and_pretrained():
    entry = get_entry(DEMO)
    shipped = safe_torch_load(osp.join(REPO, entry['url']))['state_dict']
    fresh = get_model(DEMO)
    assert fresh.calibration is None and fresh.zoo_entry['name'] == DEMO
    assert not all(torch.equal(v, shipped[k])
                   for k, v in fresh.state_dict().items())
    for weights in ('safetensors', 'pth'):
        model = get_model(DEMO, pretrained=True, weights=weights,
                          progress=False)
        assert set(model.state_dict()) == set(shipped)
        assert all(torch.equal(v, shipped[k])
                   for k, v in model.state_dict().items())
        assert model.calibration['beta'] == pytest.approx(entry['beta'])
        assert not model.training
    # parameters the zoo records are the model's
    assert sum(v.numel() for v in shipped.values()) == entry['Parameters']
    # a path works as pretrained too
    model = get_model(DEMO, pretrained=osp.join(REPO, entry['url']))
    assert all(torch.equal(v, shipped[k])
               for k, v in model.state_dict().items())


def test_get_model_errors():
    with pytest.raises(ModelZooError, match='known models: stft_vggsound'):
        get_model('stft_mnist')
    with pytest.raises(ModelZooError, match='no released weights'):
        get_model('stft_ucf_cls', pretrained=True)


def test_init_and_inference_by_name():
    model = init_model(DEMO)  # released: the zoo weights
    entry = get_entry(DEMO)
    assert model.calibration['beta'] == pytest.approx(entry['beta'])
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((8, 128)).astype(np.float32)
    video = rng.standard_normal((8, 512)).astype(np.float32)
    by_model = inference_model(model, audio, video, topk=3)
    by_name = inference_model(DEMO, audio, video, topk=3)
    assert by_name['topk_classes'] == by_model['topk_classes']
    np.testing.assert_allclose(by_name['distances'], by_model['distances'])
    with pytest.raises(FileNotFoundError, match='model-zoo name'):
        init_model('stft_mnist')
