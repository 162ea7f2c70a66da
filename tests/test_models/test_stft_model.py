"""The whole STFT model of configs/stft_demo.py: every trainable parameter
receives a gradient, spikes are binary, and prediction shapes."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from stftbox.models.utils import firing_rates
from stftbox.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build_demo_model():
    cfg = Config.fromfile(osp.join(REPO, 'configs/stft_demo.py'))
    return MODELS.build(cfg.model)


def batch(b=6):
    g = torch.Generator().manual_seed(0)
    am = torch.zeros(b, 5, dtype=torch.bool)
    am[0, 3:] = True  # one padded clip
    return dict(audio=torch.randn(b, 5, 128, generator=g),
                video=torch.randn(b, 7, 512, generator=g),
                audio_padding_mask=am,
                video_padding_mask=torch.zeros(b, 7, dtype=torch.bool))


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    model = build_demo_model()
    assert type(model).__name__ == 'STFT'
    model.set_class_embeddings(torch.randn(5, 384), train_class_ids=[0, 1, 3])
    losses = model(batch(), dict(labels=torch.tensor([0, 1, 3, 0, 1, 3])),
                   mode='loss')
    assert {'loss_triplet', 'loss_projection', 'loss_reconstruction',
            'loss_input_reconstruction'} <= set(losses)
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or
                                       not p.grad.abs().sum() > 0)]
    assert not missing, missing


def test_prediction_and_spikes():
    torch.manual_seed(0)
    model = build_demo_model().eval()
    model.set_class_embeddings(torch.randn(5, 384))
    spikes = []
    hooks = [m.register_forward_hook(lambda m, i, o: spikes.append(o))
             for n, m in model.named_modules() if n.endswith('.neuron')]
    with torch.no_grad():
        preds = model(batch(), dict(labels=torch.arange(6) % 5),
                      mode='predict')
    assert len(preds) == 6 and preds[0]['distances'].shape == (5, )
    # two blocks, each run on the audio and on the video sequence
    assert len(hooks) == 2 and len(spikes) == 4
    for s in spikes:
        assert s.shape[0] == 4  # T = 4 time steps in the demo config
        assert torch.all((s == 0) | (s == 1))
    # calls in order: block 0, 1 on audio, then block 0, 1 on video; a
    # layer's rate is the mean of its per-call means
    names = [n for n, _ in model.named_modules() if n.endswith('.neuron')]
    rates = {n: (spikes[i].mean().item() + spikes[i + 2].mean().item()) / 2
             for i, n in enumerate(names)}
    with torch.no_grad():
        assert firing_rates(model, lambda: model(
            batch(), dict(labels=torch.arange(6) % 5), mode='predict')) \
            == pytest.approx(rates)
    assert len(rates) == 2 and all(0 < r < 1 for r in rates.values())
