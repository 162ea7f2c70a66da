"""Tests of stftbox.registry: helpful errors, child registries, lookups and
duplicate registration."""
import uuid

import pytest
import torch.nn as nn
from mmengine.registry import Registry

import stftbox.models  # noqa: F401  (registers every model part)
from stftbox.registry import (FUSIONS, MODELS, NEURONS, POOLINGS,
                              build_with_hints)

MODEL_REGISTRIES = dict(MODELS=MODELS, NEURONS=NEURONS, POOLINGS=POOLINGS,
                        FUSIONS=FUSIONS)


@pytest.mark.parametrize('registry,typo,expected', [
    (MODELS, 'STFTBackbon', 'STFTBackbone'),
    (MODELS, 'GZSLhead', 'GZSLHead'),
    (NEURONS, 'DynamicThresholdLF', 'DynamicThresholdLIF'),
    (NEURONS, 'LIFnode', 'LIFNode'),
    (POOLINGS, 'GlobalLocalPool', 'GlobalLocalPooling'),
    (FUSIONS, 'TuckerFuson', 'TuckerFusion'),
    (MODELS, 'TuckerFuson', 'fusions.TuckerFusion'),
], ids=['models-backbone', 'models-head', 'neurons-dt', 'neurons-lif',
        'poolings', 'fusions', 'models-child-hint'])
def test_unknown_type_lists_close_names(registry, typo, expected):
    with pytest.raises(KeyError) as err:
        registry.build(dict(type=typo))
    msg = str(err.value)
    assert repr(typo) in msg
    assert registry.name in msg
    assert 'did you mean' in msg and repr(expected) in msg


def test_unknown_type_without_close_name_lists_registered():
    with pytest.raises(KeyError) as err:
        POOLINGS.build(dict(type='qqqqqqqq'))
    msg = str(err.value)
    assert 'registered:' in msg
    for name in POOLINGS.module_dict:
        assert name in msg


def test_child_types_are_built_from_the_child():
    # the child resolves its own names without a scope prefix ...
    assert type(NEURONS.build(dict(type='LIFNode'))).__name__ == 'LIFNode'
    pool = POOLINGS.build(dict(type='MaxPooling', kernel_size=3))
    assert type(pool).__name__ == 'MaxPooling'
    # ... the parent does not see them unprefixed, but finds them by scope
    assert MODELS.get('LIFNode') is None
    assert MODELS.get('neurons.LIFNode') is NEURONS.get('LIFNode')
    assert MODELS.get('fusions.TuckerFusion') is FUSIONS.get('TuckerFusion')
    # and a child also finds its parent's types (e.g. a backbone part)
    assert NEURONS.get('ModalityEncoder') is MODELS.get('ModalityEncoder')


def test_type_registered_in_a_new_child_registry():
    scope = 'test_child_' + uuid.uuid4().hex[:8]
    child = Registry('test child', parent=FUSIONS, scope=scope,
                     build_func=build_with_hints)
    name = 'ChildOnlyFusion_' + uuid.uuid4().hex[:8]

    class ChildOnlyFusion(nn.Module):

        def __init__(self, r_channels, s_channels, out_channels):
            super().__init__()
            self.width = out_channels

    child.register_module(name=name, module=ChildOnlyFusion)
    built = child.build(dict(type=name, r_channels=2, s_channels=3,
                             out_channels=4))
    assert isinstance(built, ChildOnlyFusion) and built.width == 4
    assert FUSIONS.get(name) is None
    assert FUSIONS.get(f'{scope}.{name}') is ChildOnlyFusion
    with pytest.raises(KeyError, match='did you mean'):
        child.build(dict(type=name[:-1], r_channels=2, s_channels=3,
                         out_channels=4))


@pytest.mark.parametrize('reg_name', list(MODEL_REGISTRIES))
def test_every_registered_type_can_be_looked_up(reg_name):
    registry = MODEL_REGISTRIES[reg_name]
    names = list(registry.module_dict)
    assert names, f'{reg_name} is empty'
    for name in names:
        assert registry.get(name) is registry.module_dict[name]
        if registry.scope != MODELS.scope:  # a child of MODELS
            assert MODELS.get(f'{registry.scope}.{name}') is \
                registry.module_dict[name]


def test_expected_types_are_registered():
    assert {'DynamicThresholdLIF', 'LIFNode', 'IFNode',
            'ParametricLIFNode'} <= set(NEURONS.module_dict)
    assert {'GlobalLocalPooling', 'MaxPooling',
            'AvgPooling'} <= set(POOLINGS.module_dict)
    assert {'TuckerFusion', 'ConcatFusion', 'BilinearFusion',
            'MultiScaleFusion'} <= set(FUSIONS.module_dict)
    assert {'STFT', 'AVGZSLClassifier', 'STFTBackbone', 'TCaFBackbone',
            'AVCABackbone', 'GZSLHead', 'TripletLoss'} <= set(
                MODELS.module_dict)


def test_duplicate_name_needs_force():
    name = 'DuplicateFusion_' + uuid.uuid4().hex[:8]

    class First(nn.Module):
        pass

    class Second(nn.Module):
        pass

    FUSIONS.register_module(name=name, module=First)
    try:
        with pytest.raises(KeyError, match='already registered'):
            FUSIONS.register_module(name=name, module=Second)
        assert FUSIONS.get(name) is First
        FUSIONS.register_module(name=name, module=Second, force=True)
        assert FUSIONS.get(name) is Second
        assert isinstance(FUSIONS.build(dict(type=name)), Second)
    finally:
        FUSIONS._module_dict.pop(name, None)
    assert FUSIONS.get(name) is None


def test_object_registries_hint_and_defer_to_other_scopes():
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS as ROOT_HOOKS
    from mmengine.registry import DefaultScope

    from stftbox.registry import DATASETS, HOOKS
    with pytest.raises(KeyError, match="did you mean 'AVGZSLDataset'"):
        DATASETS.build(dict(type='AVGZSLDatset'))
    scope = 'otherpkg_' + uuid.uuid4().hex[:8]
    other = Registry('hook', parent=ROOT_HOOKS, scope=scope)

    @other.register_module(name='SpikeStatsHook')
    class OtherSpikeStats(Hook):
        pass

    @other.register_module()
    class OnlyOther(Hook):
        pass

    # an explicit _scope_ wins over the stftbox name ...
    built = HOOKS.build(dict(type='SpikeStatsHook', _scope_=scope))
    assert isinstance(built, OtherSpikeStats)
    # ... types of the active default scope are still found ...
    with DefaultScope.overwrite_default_scope(scope):
        assert isinstance(HOOKS.build(dict(type='OnlyOther')), OnlyOther)
    # ... and mmengine's root types too
    assert type(HOOKS.build(dict(type='CheckpointHook'))).__name__ == \
        'CheckpointHook'
