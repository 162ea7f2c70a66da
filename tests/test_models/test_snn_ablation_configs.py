"""The SNN ablation configs switch exactly the option they name back to the
earlier ([I]) choice; configs/stft_demo.py keeps the stated defaults."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from stftbox.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _snn(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    backbone = MODELS.build(cfg.model).backbone
    backbone.snn_branch.snn_input = backbone.snn_input
    return backbone.snn_branch


def _facts(branch):
    block = branch.blocks[0]
    return dict(layer_type=block.layer_type, kernel=block.kernel_size,
                dropout=(block.dropout_mode, type(block.drop).__name__),
                glp=(block.pooling.form, block.pooling.mix_activation)
                if block.pooling is not None else None,
                entropy=getattr(block.neuron, 'entropy_source', None),
                neuron=type(block.neuron).__name__,
                within=branch.snn_input == 'per_modality',
                tsf=branch.tsf is not None)


DEMO = dict(layer_type='conv1d', kernel=3, dropout=('shared', 'Dropout'),
            glp=('paper', 'sigmoid'),
            entropy='prev_output', neuron='DynamicThresholdLIF',
            within=True, tsf=True)


def test_demo_has_the_stated_snn_defaults():
    assert _facts(_snn('configs/stft_demo.py')) == DEMO
    # the shared mask is spikingjelly's, the per-step one torch's
    from spikingjelly.activation_based import layer
    assert isinstance(_snn('configs/stft_demo.py').blocks[1].drop,
                      layer.Dropout)
    per_step = _snn('configs/ablations/stft_demo_per_step_dropout.py')
    assert type(per_step.blocks[1].drop) is torch.nn.Dropout


@pytest.mark.parametrize('name,changed', [
    ('stft_demo_conv_k1', dict(kernel=1)),
    ('stft_demo_per_step_dropout', dict(dropout=('per_step', 'Dropout'))),
    ('stft_demo_glp_convex', dict(glp=('convex', 'clamp'))),
    ('stft_demo_input_entropy', dict(entropy='input')),
    ('stft_demo_glp_across_modalities', dict(within=False)),
    ('stft_demo_no_glp', dict(glp=None)),
    ('stft_demo_no_tsf', dict(tsf=False)),
    ('stft_demo_fixed_threshold', dict(neuron='LIFNode', entropy=None)),
])
def test_ablation_changes_only_its_option(name, changed):
    expected = dict(DEMO, **changed)
    assert _facts(_snn(f'configs/ablations/{name}.py')) == expected
