"""tools/model_converters/{tcaf,avca,clipclap,avmst,mstr}2stftbox.py: peer
state dicts (the peers' own key names) of any width and seed in, stftbox checkpoints out,
loadable with the weights-only loader and usable by tools/test.py."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from stftbox.apis import register_all_modules
from stftbox.models.converters import (PeerCheckpointError,
                                       convert_avca_state,
                                       convert_peer_checkpoint,
                                       convert_tcaf_state)
from stftbox.registry import MODELS
from stftbox.fileio import load_checkpoint_safely, safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURES = osp.join(REPO, 'tests', 'data', 'peer_fixtures')


def _net(g, prefix, sizes):
    """Peer embedding net ``prefix.fc.*`` (Linear-BN-ReLU-Dropout, 1 or 2
    stages) with random weights and running statistics."""
    out, idx = {}, 0
    for c_in, c_out in zip(sizes[:-1], sizes[1:]):
        out[f'{prefix}.fc.{idx}.weight'] = torch.randn(c_out, c_in,
                                                       generator=g)
        out[f'{prefix}.fc.{idx}.bias'] = torch.randn(c_out, generator=g)
        bn = f'{prefix}.fc.{idx + 1}.'
        out[bn + 'weight'] = torch.rand(c_out, generator=g) + 0.5
        out[bn + 'bias'] = torch.randn(c_out, generator=g)
        out[bn + 'running_mean'] = torch.randn(c_out, generator=g)
        out[bn + 'running_var'] = torch.rand(c_out, generator=g) + 0.5
        out[bn + 'num_batches_tracked'] = torch.tensor(7)
        idx += 4
    return out


def peer_tcaf_state(seed, a, v, hidden, dims, time_dims, depth, inner, mlp,
                    dec_hidden, dim_out, text):
    """A state dict laid out as the released Multimodal_Sequence_Transformer
    (keys and shapes), random values."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {'cls_token': r(1, 1, dims)}
    sd.update(_net(g, 'A_enc', [a, hidden, dims]))
    sd.update(_net(g, 'V_enc', [v, hidden, dims]))
    sd.update(_net(g, 'W_proj', [text, dim_out]))
    sd.update(_net(g, 'D_w', [dim_out, text]))
    emb = {'fourier_randn': r(2, time_dims // 2),
           'modal_embedding.weight': r(2, time_dims),
           'fourier_embeddings.weight': r(time_dims, time_dims),
           'fourier_embeddings.bias': r(time_dims),
           'pad_embedding.weight': r(1, time_dims),
           'out_proj_audio.weight': r(dims, dims + time_dims, 1),
           'out_proj_audio.bias': r(dims),
           'out_proj_video.weight': r(dims, dims + time_dims, 1),
           'out_proj_video.bias': r(dims)}
    for k, t in emb.items():
        sd['position_encoder_block.' + k] = t
        sd['audiovisual_embeddings.' + k] = t  # same module, second name
    for i in range(depth):
        p = f'Audio_visual_transformer.layers.{i}.'
        for n in 'qkv':
            sd[f'{p}attn.to_{n}.weight'] = r(inner, dims)
        sd[p + 'attn.to_out.0.weight'] = r(dims, inner)
        sd[p + 'attn.to_out.0.bias'] = r(dims)
        sd[p + 'ff.net.0.weight'] = r(mlp, dims)
        sd[p + 'ff.net.0.bias'] = r(mlp)
        sd[p + 'ff.net.3.weight'] = r(dims, mlp)
        sd[p + 'ff.net.3.bias'] = r(dims)
        sd[p + 'norm.weight'] = r(dims)
        sd[p + 'norm.bias'] = r(dims)
    sd.update(_net(g, 'O_proj', [dims, dec_hidden, dim_out]))
    sd.update(_net(g, 'D_o', [dim_out, dec_hidden, dims]))
    return sd


def peer_avca_state(seed, a, v, hidden, dims, depth, mlp, dec_hidden,
                    dim_out, text):
    """A state dict laid out as the released AVCA, random values."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {'pos_emb1D': r(2, dims)}
    sd.update(_net(g, 'A_enc', [a, hidden, dims]))
    sd.update(_net(g, 'V_enc', [v, hidden, dims]))
    for i in range(depth):
        p = f'cross_attention.layers.{i}.'
        sd.update({p + '0.norm.weight': r(dims), p + '0.norm.bias': r(dims),
                   p + '0.fn.to_qkv.weight': r(3 * dims, dims),
                   p + '0.fn.to_out.0.weight': r(dims, dims),
                   p + '0.fn.to_out.0.bias': r(dims),
                   p + '1.norm.weight': r(dims), p + '1.norm.bias': r(dims),
                   p + '1.fn.net.0.weight': r(mlp, dims),
                   p + '1.fn.net.0.bias': r(mlp),
                   p + '1.fn.net.3.weight': r(dims, mlp),
                   p + '1.fn.net.3.bias': r(dims)})
    sd.update(_net(g, 'W_proj', [text, dim_out]))
    sd.update(_net(g, 'D', [dim_out, text]))
    sd.update(_net(g, 'A_proj', [dims, dec_hidden, dim_out]))
    sd.update(_net(g, 'V_proj', [dims, dec_hidden, dim_out]))
    sd.update(_net(g, 'A_rec', [dim_out, dims]))
    sd.update(_net(g, 'V_rec', [dim_out, dims]))
    return sd


#: the widths of configs/baselines/{tcaf,avca}_demo.py
TCAF_DEMO = dict(a=128, v=512, hidden=64, dims=384, time_dims=16, depth=2,
                 inner=64, mlp=64, dec_hidden=64, dim_out=64, text=384)
AVCA_DEMO = dict(a=128, v=512, hidden=64, dims=96, depth=1, mlp=64,
                 dec_hidden=64, dim_out=64, text=384)


def _n_params(peer_sd):
    seen, n = set(), 0
    for k, t in peer_sd.items():
        if k.endswith(('running_mean', 'running_var', 'num_batches_tracked',
                       'fourier_randn')) or t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        n += t.numel()
    return n


@pytest.mark.parametrize('seed,widths,heads', [
    (3, dict(a=20, v=12, hidden=8, dims=40, time_dims=6, depth=3, inner=12,
             mlp=10, dec_hidden=9, dim_out=5, text=40), 3),
    (11, dict(TCAF_DEMO), 4)])
def test_tcaf_other_widths_and_seeds(seed, widths, heads):
    register_all_modules()
    peer = peer_tcaf_state(seed, **widths)
    state, cfg = convert_tcaf_state(peer, num_heads=heads)
    assert cfg['backbone']['head_dims'] * heads == widths['inner']
    assert cfg['backbone']['num_layers'] == widths['depth']
    assert cfg['head']['embed_dims'] == widths['dim_out']
    model = MODELS.build(cfg)
    model.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in model.parameters()) == _n_params(peer)
    bb = model.backbone
    assert torch.equal(bb.audio_encoder.layers[4].weight,
                       peer['A_enc.fc.4.weight'])
    assert torch.equal(bb.layers[widths['depth'] - 1].attn.v.weight,
                       peer[f'Audio_visual_transformer.layers.'
                            f'{widths["depth"] - 1}.attn.to_v.weight'])
    assert torch.equal(bb.token_embedding.video_proj.weight,
                       peer['position_encoder_block.out_proj_video.weight']
                       [..., 0])
    assert torch.equal(model.head.clip_decoder.layers[5].running_var,
                       peer['D_o.fc.5.running_var'])
    model.eval()
    with torch.no_grad():
        out = bb(torch.rand(2, 3, widths['a']) * 255,
                 torch.rand(2, 4, widths['v']))
    assert out['embedding'].shape == (2, widths['dims'])


@pytest.mark.parametrize('seed,widths', [
    (5, dict(a=7, v=9, hidden=6, dims=30, depth=2, mlp=11, dec_hidden=8,
             dim_out=4, text=13)), (17, dict(AVCA_DEMO))])
def test_avca_other_widths_and_seeds(seed, widths):
    register_all_modules()
    peer = peer_avca_state(seed, **widths)
    state, cfg = convert_avca_state(peer)
    model = MODELS.build(cfg)
    model.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in model.parameters()) == _n_params(peer)
    last = widths['depth'] - 1
    blk = model.backbone.blocks[last]
    assert torch.equal(blk.attn.qkv.weight,
                       peer[f'cross_attention.layers.{last}.0.fn.to_qkv.'
                            'weight'])
    assert torch.equal(blk.norm2.bias,
                       peer[f'cross_attention.layers.{last}.1.norm.bias'])
    assert torch.equal(model.backbone.pos_embed, peer['pos_emb1D'])
    assert torch.equal(model.head.text_decoder.layers[0].weight,
                       peer['D.fc.0.weight'])


def test_converter_errors():
    peer = peer_tcaf_state(0, **TCAF_DEMO)
    with pytest.raises(PeerCheckpointError, match='heads'):
        convert_tcaf_state(peer)
    with pytest.raises(PeerCheckpointError, match='not divisible'):
        convert_tcaf_state(peer, num_heads=5)
    bad = dict(peer)
    bad['audiovisual_embeddings.pad_embedding.weight'] = torch.zeros(1, 16)
    with pytest.raises(PeerCheckpointError, match='differ'):
        convert_tcaf_state(bad, num_heads=4)
    bad = dict(peer)
    del bad['cls_token']
    with pytest.raises(PeerCheckpointError, match="'cls_token'"):
        convert_tcaf_state(bad, num_heads=4)
    bad = dict(peer, **{'position_encoder_block.pe_row.weight':
                        torch.zeros(7, 16)})
    with pytest.raises(PeerCheckpointError, match='not supported'):
        convert_tcaf_state(bad, num_heads=4)
    avca = peer_avca_state(0, **AVCA_DEMO)
    with pytest.raises(PeerCheckpointError, match='not part of'):
        convert_avca_state(dict(avca, extra=torch.zeros(1)))
    with pytest.raises(PeerCheckpointError, match='not divisible'):
        convert_avca_state(avca, num_heads=7)
    with pytest.raises(PeerCheckpointError, match='state dict of tensors'):
        convert_peer_checkpoint({'epoch': 3}, 'avca')
    with pytest.raises(PeerCheckpointError, match='must be one of'):
        convert_peer_checkpoint(avca, 'clip')


def _convert(tool, argv, capsys):
    """Run a converter's command line in this process; ``(rc, out, err)``."""
    import importlib.util
    path = osp.join(REPO, 'tools', 'model_converters', 'peer2stftbox.py')
    spec = importlib.util.spec_from_file_location('peer2stftbox', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = mod.main(tool.split('2stftbox')[0], [str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _run(args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize('tool,fixture', [
    ('tcaf2stftbox', 'tcaf_a.pt'), ('avca2stftbox', 'avca_a.pt'),
    ('clipclap2stftbox', 'clipclap_a.pt'), ('avmst2stftbox', 'avmst_a.pt'),
    ('mstr2stftbox', 'mstr_a.pt')])
def test_cli_converts_fixture_and_loads_weights_only(tool, fixture,
                                                     tmp_path, capsys):
    out = tmp_path / 'converted.pth'
    rc, stdout, err = _convert(tool, [osp.join(FIXTURES, fixture), out,
                                      '--beta', '0.6'], capsys)
    assert rc == 0, err
    assert 'parameters' in stdout
    ckpt = safe_torch_load(str(out))
    meta = ckpt['meta']
    assert meta['calibration'] == {'beta': 0.6}
    assert meta['converted_from'] == fixture
    register_all_modules()
    model = MODELS.build(meta['model_cfg'])
    load_checkpoint_safely(model, str(out), strict=True)
    ref = torch.load(osp.join(FIXTURES, fixture), weights_only=True)
    assert sum(p.numel() for p in model.parameters()) == ref['param_count']


def test_cli_accepts_wrapped_and_dataparallel_checkpoints(tmp_path, capsys):
    peer = peer_avca_state(2, **AVCA_DEMO)
    src = tmp_path / 'AVCA_score.pt'
    torch.save(dict(epoch=12, metric='score', model={
        'module.' + k: t for k, t in peer.items()}), src)
    out = tmp_path / 'out.pth'
    rc, _, err = _convert('avca', [src, out], capsys)
    assert rc == 0, err
    meta = safe_torch_load(str(out))['meta']
    assert meta['peer_epoch'] == 12 and 'calibration' not in meta
    # a failed conversion names the problem and writes nothing
    bad = tmp_path / 'bad.pt'
    torch.save({'optimizer': {'lr': 1}}, bad)
    rc, _, err = _convert('avca', [bad, tmp_path / 'none.pth'], capsys)
    assert rc == 1 and 'state dict of tensors' in err
    assert not (tmp_path / 'none.pth').exists()
    # an AVCA file given to the TCaF converter
    rc, _, err = _convert('tcaf', [src, tmp_path / 'none.pth'], capsys)
    assert rc == 1 and 'error:' in err
    assert not (tmp_path / 'none.pth').exists()


def test_converted_checkpoint_runs_in_tools_test(surrogate_root, short_run,
                                                 tmp_path):
    """The script itself, then tools/test.py with the TCaF demo config."""
    name = 'tcaf'
    peer = peer_tcaf_state(23, **TCAF_DEMO)
    src, out = tmp_path / 'peer.pt', tmp_path / 'stftbox.pth'
    torch.save(dict(model=peer, epoch=1), src)
    res = _run([f'tools/model_converters/{name}2stftbox.py', str(src),
                str(out), '--num-heads', '4', '--beta', '0.2'])
    assert res.returncode == 0, res.stderr
    metrics = tmp_path / 'metrics.json'
    opts = short_run(surrogate_root)
    res = _run(['tools/test.py', f'configs/baselines/{name}_demo.py',
                str(out), '--out', str(metrics), '--work-dir',
                str(tmp_path / 'work'), '--cfg-options'] +
               [f'{k}={v}' for k, v in opts.items()])
    assert res.returncode == 0, res.stderr[-3000:]
    scores = json.loads(metrics.read_text())
    assert scores['gzsl/beta'] == pytest.approx(0.2)
    assert 0 <= scores['gzsl/HM'] <= 100


def _names(fixture, peer):
    """Our key -> the peer's key, from the real converter on a fixture
    (names do not depend on widths)."""
    ref = torch.load(osp.join(FIXTURES, fixture), weights_only=True)
    sd = ref['state_dict']
    tagged = {k: torch.full(v.shape, float(i)) for i, (k, v) in
              enumerate(sd.items())}
    names = list(sd)
    ours = convert_peer_checkpoint(tagged, peer)[0]
    return {k: names[int(v.reshape(-1)[0])] for k, v in ours.items()}


@pytest.mark.parametrize('peer,fixture,cfg,read', [
    ('clipclap', 'clipclap_a.pt',
     dict(type='ClipClap', backbone=dict(type='ClipClapBackbone',
                                         audio_channels=40,
                                         video_channels=512, embed_dims=24),
          head=dict(type='ClipClapHead', in_channels=24, text_channels=36,
                    clip_text_channels=12, embed_dims=8,
                    hidden_channels=10)),
     dict(backbone=dict(audio_channels=40, embed_dims=24),
          head=dict(text_channels=36, embed_dims=8, hidden_channels=10))),
    ('avmst', 'avmst_a.pt',
     dict(type='AVMST', backbone=dict(type='AVMSTFusionBackbone',
                                      audio_channels=20, video_channels=20,
                                      embed_dims=30, hidden_channels=12,
                                      num_layers=2, mlp_dims=16),
          head=dict(type='AVCAHead', in_channels=30, text_channels=30,
                    embed_dims=8, hidden_channels=10)),
     dict(backbone=dict(audio_channels=20, embed_dims=30, hidden_channels=12,
                        num_layers=2, mlp_dims=16),
          head=dict(embed_dims=8, hidden_channels=10))),
    ('mstr', 'mstr_a.pt',
     dict(type='MSTR', backbone=dict(type='MSTRBackbone', audio_channels=20,
                                     video_channels=20, embed_dims=30,
                                     hidden_channels=12,
                                     tensor_ranks=(7, 1, 1, 5)),
          head=dict(type='AVCAHead', in_channels=30, text_channels=30,
                    embed_dims=8, hidden_channels=10)),
     dict(backbone=dict(audio_channels=20, embed_dims=30,
                        tensor_ranks=[7, 1, 1, 5]),
          head=dict(embed_dims=8, hidden_channels=10)))])
def test_new_peers_other_widths(peer, fixture, cfg, read):
    """Widths (and depth, Tucker ranks) come from the tensors: a peer-layout
    state dict of other widths converts to a config with those widths and
    loads strictly, every value in place."""
    register_all_modules()
    torch.manual_seed(3)
    model = MODELS.build(cfg)
    ours = model.state_dict()
    names = _names(fixture, peer)
    def peer_name(k):  # deeper than the fixture: layer i as layer 0
        if k in names:
            return names[k]
        i = k.split('.')[2]
        return names[k.replace(f'transformer.{i}.', 'transformer.0.')
                     ].replace('layers.0.', f'layers.{i}.', 1)

    peer_sd = {peer_name(k): v.clone() for k, v in ours.items()}
    sd, got = convert_peer_checkpoint(peer_sd, peer)
    for part, keys in read.items():
        for k, v in keys.items():
            assert got[part][k] == v, (part, k)
    again = MODELS.build(got)
    again.load_state_dict(sd, strict=True)
    for k, v in again.state_dict().items():
        assert torch.equal(v, ours[k]), k


def test_new_peer_converter_errors():
    ref = {n: torch.load(osp.join(FIXTURES, f'{n}_a.pt'),
                         weights_only=True)['state_dict']
           for n in ('avmst', 'mstr', 'clipclap')}
    with pytest.raises(PeerCheckpointError, match='trl_a.core'):
        convert_peer_checkpoint(ref['avmst'], 'mstr')
    with pytest.raises(PeerCheckpointError, match='not part of'):
        convert_peer_checkpoint(ref['mstr'], 'avmst')
    with pytest.raises(PeerCheckpointError, match='SNNbranchaudio'):
        convert_peer_checkpoint(
            {k: v for k, v in ref['avmst'].items()
             if not k.startswith('SNNbranchaudio')}, 'avmst')
    from stftbox.models.converters import convert_clipclap_state
    with pytest.raises(PeerCheckpointError, match='video_channels'):
        convert_clipclap_state(ref['clipclap'], video_channels=4096)
