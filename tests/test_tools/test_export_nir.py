"""NIR export of the SNN branch (stftbox.deployment, tools/deployment/
export_nir.py): round trips give the same spikes; unsupported parts are
named in one line."""
import importlib.util
import os.path as osp

import pytest
import torch
from spikingjelly.activation_based.nir_exchange import import_from_nir

from stftbox.apis import register_all_modules
from stftbox.deployment import (NIRExportError, nir_blockers,
                                snn_branch_to_nir)
from stftbox.engine import load_config
from stftbox.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'deployment', 'export_nir.py')
NIR_CONFIG = osp.join(REPO, 'configs', 'ablations', 'stft_demo_nir.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('export_nir', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _last_spikes(branch, x):
    """Our branch's last-block spikes ``[T, B, L, D]`` for tokens x."""
    out = []
    hook = branch.blocks[-1].neuron.register_forward_hook(
        lambda m, i, o: out.append(o.detach()))
    with torch.no_grad():
        branch(x)
    hook.remove()
    return out[0]


def _nir_spikes(graph_or_file, x, time_steps, dt=1e-4):
    """Spikes of the imported NIR graph, direct encoding: ``[T, B, L, D]``."""
    net = import_from_nir(graph_or_file, dt=dt, step_mode='m')
    b, length, c = x.shape
    seq = x.reshape(1, b * length, c).expand(time_steps, -1, -1)
    with torch.no_grad():
        spikes, _ = net(seq.contiguous())
    return spikes.reshape(time_steps, b, length, -1)


def test_tool_round_trips_the_nir_config(tool, tmp_path):
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(load_config(NIR_CONFIG).model)
    branch = model.backbone.snn_branch
    with torch.no_grad():    # BN statistics as after training
        for _ in range(30):
            branch(torch.randn(8, 15, branch.in_channels))
    model.eval()
    ckpt = tmp_path / 'nir.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out = tmp_path / 'snn.nir'
    tool.main([NIR_CONFIG, str(ckpt), str(out)])
    assert out.is_file() and not (tmp_path / 'snn.nir.tmp').exists()
    x = torch.randn(3, 15, branch.in_channels)
    ours = _last_spikes(branch, x)
    theirs = _nir_spikes(str(out), x, branch.time_steps)
    assert ours.shape == theirs.shape == (4, 3, 15, branch.embed_dims)
    assert 0.0 < float(ours.mean()) < 1.0        # not trivially silent
    assert torch.equal(ours, theirs)


def test_tool_refuses_the_default_stft_in_one_line(tool, capsys):
    """Before any checkpoint is read (the path does not exist)."""
    with pytest.raises(SystemExit) as exc:
        tool.main([osp.join(REPO, 'configs', 'stft_demo.py'), 'missing.pth',
                   'x.nir'])
    msg = str(exc.value.code)
    assert '\n' not in msg and msg.startswith('error: ')
    for part in ('dynamic threshold (DynamicThresholdLIF) in blocks 0, 1',
                 'GLP (GlobalLocalPooling) in blocks 0, 1',
                 'LayerNorm in blocks 0, 1', 'attention', 'Tucker'):
        assert part in msg, part
    assert not osp.exists('x.nir')


def _branch(**kw):
    cfg = dict(type='SNNBranch', in_channels=5, embed_dims=7, time_steps=3,
               kernel_size=1,
               num_blocks=2, pooling=None, norm=None, tsf=None,
               neuron=dict(type='LIFNode'))
    cfg.update(kw)
    return MODELS.build(cfg).eval()


@pytest.mark.parametrize('kw', [
    dict(layer_type='linear', neuron=dict(type='IFNode')),
    dict(neuron=dict(type='ParametricLIFNode', init_tau=3.0)),
    dict(norm='BN', neuron=dict(type='LIFNode', tau=4.0,
                                decay_input=False, v_threshold=0.5)),
])
def test_supported_blocks_give_the_same_spikes(kw):
    """IF, PLIF, a linear layer and a BatchNorm folded into the layer (eval
    statistics set to non-trivial values)."""
    torch.manual_seed(1)
    branch = _branch(**kw)
    for block in branch.blocks:
        block.proj.weight.data.mul_(4)   # blocks that fire
        if hasattr(block.norm, 'running_mean'):
            block.norm.running_mean.uniform_(-0.5, 0.5)
            block.norm.running_var.uniform_(0.5, 2.0)
            block.norm.weight.data.uniform_(0.5, 1.5)
            block.norm.bias.data.uniform_(-0.2, 0.2)
    graph = snn_branch_to_nir(branch)
    assert graph.metadata['time_steps'] == 3
    kinds = [type(n).__name__ for n in graph.nodes.values()]
    assert kinds.count('Affine') == 2
    x = torch.randn(2, 6, 5) * 2
    ours = _last_spikes(branch, x)
    assert 0.0 < float(ours.mean()) < 1.0
    assert torch.equal(ours, _nir_spikes(graph, x, 3))


def test_blockers_are_named_per_kind_and_block():
    assert nir_blockers(_branch()) == []
    branch = _branch(kernel_size=3, neuron=dict(type='LIFNode', v_reset=None),
                     pooling=dict(type='MaxPooling'), norm='LN')
    assert nir_blockers(branch) == [
        'soft reset (LIFNode v_reset=None) in blocks 0, 1',
        'pooling (MaxPooling) in blocks 0, 1', 'LayerNorm in blocks 0, 1',
        'Conv1d kernel 3 along the tokens in blocks 0, 1']
    with pytest.raises(NIRExportError, match='no NIR primitive for: soft'):
        snn_branch_to_nir(branch)
