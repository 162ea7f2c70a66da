"""Tests of the STFT transformer branch and the modality encoder."""
import pytest
import torch

import stftbox.models  # noqa: F401
from stftbox.models.backbones.cross_modal_transformer import (
    build_attn_mask, sincos_positions)
from stftbox.registry import MODELS

D = 16


def _masks():
    # clip 0: audio steps 3,4 padded, video valid; clip 1: video fully padded
    am = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], dtype=torch.bool)
    vm = torch.tensor([[0, 0, 0], [1, 1, 1]], dtype=torch.bool)
    return am, vm


def _cross(**kw):
    cfg = dict(type='CrossModalTransformer', embed_dims=D, num_heads=2,
               num_layers=2)
    cfg.update(kw)
    return MODELS.build(cfg).eval()


def test_modality_encoder():
    enc = MODELS.build(dict(type='ModalityEncoder', in_channels=7,
                            embed_dims=D, dropout=0.0))
    x = torch.randn(2, 5, 7)
    mask = torch.tensor([[0, 0, 1, 1, 1], [0] * 5], dtype=torch.bool)
    y = enc(x, mask)
    assert y.shape == (2, 5, D)
    assert torch.all(y[0, 2:] == 0) and y[1].abs().sum() > 0
    torch.testing.assert_close(y[:, :2], enc(x[:, :2]))
    with pytest.raises(ValueError):
        enc(torch.randn(2, 5, 6))
    with pytest.raises(ValueError):
        MODELS.build(dict(type='ModalityEncoder', in_channels=7, act='Nope'))


def test_attn_mask_and_positions():
    pm = torch.tensor([[False, True, True], [True, True, True]])
    m = build_attn_mask(pm)
    assert m.shape == (2, 1, 3, 3) and m.dtype == torch.bool
    assert m[0, 0].tolist() == [[True, False, False], [True, True, False],
                                [True, False, True]]
    assert m[1, 0].tolist() == torch.eye(3, dtype=torch.bool).tolist()
    pe = sincos_positions(4, 6)
    assert pe.shape == (4, 6)
    torch.testing.assert_close(pe[0], torch.tensor([0., 1.] * 3))
    assert torch.isclose(pe[1, 0], torch.sin(torch.tensor(1.0)))


def test_cross_modal_ignores_padded_tokens():
    torch.manual_seed(0)
    cm = _cross()
    am, vm = _masks()
    a, v = torch.randn(2, 5, D), torch.randn(2, 3, D)
    out = cm(a, v, am, vm)
    tokens, pm = out['tokens'], out['padding_mask']
    assert tokens.shape == (2, 8, D)
    assert pm.tolist() == torch.cat([am, vm], 1).tolist()
    # garbage at padded positions changes nothing
    a2, v2 = a.clone(), v.clone()
    a2[am] = 1e3 * torch.randn(int(am.sum()), D)
    v2[vm] = float('nan')
    torch.testing.assert_close(cm(a2, v2, am, vm)['tokens'], tokens)
    assert torch.all(tokens[pm] == 0)
    # the mask really hides the padded steps: clip 0 equals the same clip
    # with the padded audio steps cut off (same positions, no mask)
    cut = cm(a[:1, :3], v[:1])['tokens']
    torch.testing.assert_close(tokens[0, [0, 1, 2, 5, 6, 7]], cut[0])
    # without the mask the result differs (the test can fail)
    unmasked = cm(a[:1], v[:1])['tokens']
    assert not torch.allclose(unmasked[0, :3], tokens[0, :3], atol=1e-4)


def test_cross_modal_fully_padded_rows_are_finite():
    torch.manual_seed(1)
    cm = _cross(with_slots=True)
    a, v = torch.randn(2, 5, D), torch.randn(2, 3, D)
    am, vm = torch.ones(2, 5, dtype=torch.bool), torch.ones(2, 3,
                                                             dtype=torch.bool)
    am[1, 0] = False
    slots = torch.randn(2, 4, D, requires_grad=True)
    out = cm(a, v, am, vm, slots=slots)
    assert out['tokens'].shape == (2, 12, D)
    assert torch.isfinite(out['tokens']).all()
    out['tokens'].sum().backward()
    assert torch.isfinite(slots.grad).all()
    # everything padded and no slots
    cm2 = _cross()
    tok = cm2(a, v, torch.ones_like(am), torch.ones_like(vm))['tokens']
    assert torch.isfinite(tok).all() and torch.all(tok == 0)
    with pytest.raises(ValueError):
        cm2(a, v, slots=slots)
    with pytest.raises(ValueError):
        cm(a, v)


def test_knowledge_combiner_shapes_and_gates():
    torch.manual_seed(2)
    kc = MODELS.build(dict(type='LatentKnowledgeCombiner', embed_dims=D,
                           num_slots=4, num_heads=2, num_iters=2)).eval()
    am, vm = _masks()
    a, v = torch.randn(2, 5, D), torch.randn(2, 3, D)
    slots, gates = kc(a, v, am, vm, return_gates=True)
    assert slots.shape == (2, 4, D) and torch.isfinite(slots).all()
    for kind in ('read_gate', 'update_gate'):
        for m in ('audio', 'video'):
            g = gates[kind][m]
            assert g.shape == (2, 4, D)
    for m in ('audio', 'video'):
        for kind in ('read_gate', 'update_gate'):
            g = gates[kind][m][0]            # clip 0 has both modalities
            assert torch.all(g > 0) and torch.all(g < 1)
    # clip 1 has no video: its video update is switched off
    assert torch.all(gates['update_gate']['video'][1] == 0)
    # padded audio steps do not matter
    a2 = a.clone()
    a2[am] = float('nan')
    torch.testing.assert_close(kc(a2, v, am, vm), slots)
    # slots depend on the clip (they read the tokens)
    assert not torch.allclose(slots[0], slots[1], atol=1e-4)
    # batch of one clip gives the same slots as inside the batch
    torch.testing.assert_close(kc(a[:1], v[:1], am[:1], vm[:1]), slots[:1])


@pytest.mark.parametrize('pooling', ['mean', 'tokens', 'slots'])
def test_transformer_branch(pooling):
    torch.manual_seed(3)
    tb = MODELS.build(dict(
        type='TransformerBranch', embed_dims=D, pooling=pooling,
        knowledge_combiner=dict(type='LatentKnowledgeCombiner', num_slots=3,
                                num_heads=2),
        cross_modal=dict(type='CrossModalTransformer', num_heads=2,
                         num_layers=1)))
    am, vm = _masks()
    a, v = torch.randn(2, 5, D), torch.randn(2, 3, D)
    out = tb(a, v, am, vm)
    assert out['embedding'].shape == (2, D)
    assert out['tokens'].shape == (2, 11, D)
    assert out['slots'].shape == (2, 3, D)
    tok, pm = out['tokens'], out['padding_mask']
    sel = {'mean': ~pm[0], 'tokens': ~pm[0] & (torch.arange(11) < 8),
           'slots': torch.arange(11) >= 8}[pooling]
    torch.testing.assert_close(out['embedding'][0], tok[0, sel].mean(0))


def test_transformer_branch_without_slots_and_errors():
    tb = MODELS.build(dict(
        type='TransformerBranch', embed_dims=D, knowledge_combiner=None,
        cross_modal=dict(type='CrossModalTransformer', num_heads=2,
                         num_layers=1)))
    out = tb(torch.randn(2, 5, D), torch.randn(2, 3, D))
    assert out['tokens'].shape == (2, 8, D) and out['slots'] is None
    with pytest.raises(ValueError):
        MODELS.build(dict(type='TransformerBranch', embed_dims=D,
                          knowledge_combiner=None, pooling='slots'))
    with pytest.raises(ValueError):
        MODELS.build(dict(type='TransformerBranch', embed_dims=D,
                          cross_modal=dict(type='CrossModalTransformer',
                                           embed_dims=8, num_heads=2)))


@pytest.mark.parametrize('share', [True, False])
def test_knowledge_combiner_narrow_slots_and_shared_reads(share):
    torch.manual_seed(4)
    dk = 8
    kc = MODELS.build(dict(type='LatentKnowledgeCombiner', embed_dims=D,
                           num_slots=3, num_heads=2, slot_dims=dk,
                           share_reads=share)).eval()
    assert list(kc.reads) == (['audio'] if share else ['audio', 'video'])
    assert len(kc.blocks) == 1    # default: the slots' self-attention [S]
    lin = lambda i, o: i * o + o  # noqa: E731
    read = 4 * dk + lin(dk, 3 * dk) + lin(dk, dk) + 2 * lin(2 * dk, dk) + \
        lin(dk, dk)
    block = 4 * dk + lin(dk, 3 * dk) + lin(dk, dk) + lin(dk, 4 * dk) + \
        lin(4 * dk, dk)
    expect = 3 * dk + lin(D, dk) + lin(dk, D) + read * (1 if share else 2) \
        + block + 2 * dk
    assert sum(p.numel() for p in kc.parameters()) == expect
    am, vm = _masks()
    a, v = torch.randn(2, 5, D), torch.randn(2, 3, D)
    slots, gates = kc(a, v, am, vm, return_gates=True)
    assert slots.shape == (2, 3, D)                 # back to the token width
    assert gates['read_gate']['audio'].shape == (2, 3, dk)
    assert torch.all(gates['update_gate']['video'][1] == 0)
    a2 = a.clone()
    a2[am] = float('nan')
    torch.testing.assert_close(kc(a2, v, am, vm), slots)
    with pytest.raises(ValueError, match='divisible'):
        MODELS.build(dict(type='LatentKnowledgeCombiner', embed_dims=D,
                          num_heads=3, slot_dims=8))


def test_cross_modal_attention_head_width():
    torch.manual_seed(5)
    cm = _cross(num_layers=1, mlp_ratio=1.0, attn_head_dims=4)
    # qkv D -> 3 * 2 heads * 4, proj 8 -> D; MLP D -> D -> D; 2 norms;
    # 2 modality embeddings + final norm
    inner = 2 * 4
    block = (D * 3 * inner + 3 * inner) + (inner * D + D) + \
        2 * (D * D + D) + 4 * D
    assert sum(p.numel() for p in cm.parameters()) == block + 2 * D + 2 * D
    am, vm = _masks()
    out = cm(torch.randn(2, 5, D), torch.randn(2, 3, D), am, vm)
    assert out['tokens'].shape == (2, 8, D)
    assert torch.isfinite(out['tokens']).all()
    with pytest.raises(ValueError, match='attn_head_dims'):
        _cross(attn_head_dims=0)


def test_transformer_branch_modality_embeddings():
    torch.manual_seed(6)
    tb = MODELS.build(dict(
        type='TransformerBranch', embed_dims=D,
        knowledge_combiner=dict(type='LatentKnowledgeCombiner', num_slots=3,
                                num_heads=2),
        cross_modal=dict(type='CrossModalTransformer', num_heads=2,
                         num_layers=1))).eval()
    am, vm = _masks()
    out = tb(torch.randn(2, 5, D), torch.randn(2, 3, D), am, vm)
    tok, emb = out['tokens'], out['modality_embeddings']
    torch.testing.assert_close(emb['audio'][0], tok[0, :3].mean(0))
    torch.testing.assert_close(emb['video'][0], tok[0, 5:8].mean(0))
    assert torch.all(emb['video'][1] == 0)     # clip 1: no video


def test_cross_attention_mask_between_modalities():
    """'cross': an audio token attends to video tokens and slots only, a
    slot to audio and video tokens; a query whose allowed keys are all
    padded attends to itself. 'joint': every valid key (and itself)."""
    from stftbox.models.backbones.cross_modal_transformer import \
        build_attn_mask
    pad = torch.tensor([[False, False, False, True, False]])
    types = torch.tensor([0, 0, 1, 1, 2])          # a a v v(padded) slot
    m = build_attn_mask(pad, types)[0, 0].int().tolist()
    assert m == [[0, 0, 1, 0, 1], [0, 0, 1, 0, 1], [1, 1, 0, 0, 1],
                 [1, 1, 0, 0, 1], [1, 1, 1, 0, 0]]
    joint = build_attn_mask(pad)[0, 0].int().tolist()
    assert joint[0] == [1, 1, 1, 0, 1] and joint[3] == [1, 1, 1, 1, 1]
    # no valid key of another group: the query keeps itself
    pad = torch.tensor([[False, True]])
    m = build_attn_mask(pad, torch.tensor([0, 1]))[0, 0].int().tolist()
    assert m[0] == [1, 0]


@pytest.mark.parametrize('attention', ['cross', 'joint'])
def test_cross_modal_attention_options(attention):
    torch.manual_seed(0)
    cm = MODELS.build(dict(type='CrossModalTransformer', embed_dims=D,
                           num_heads=2, num_layers=1, attention=attention,
                           modality_embed=False)).eval()
    assert cm.modality_embed is None
    a, v = torch.randn(2, 3, D), torch.randn(2, 4, D)
    out = cm(a, v)['tokens']
    v2 = v.clone()
    v2[:, 0] = torch.randn(2, D)
    # with cross-attention an audio token's output depends on the video
    # tokens; joint attention too; the options give different outputs
    assert not torch.allclose(cm(a, v2)['tokens'][:, :3], out[:, :3])
    other = MODELS.build(dict(type='CrossModalTransformer', embed_dims=D,
                              num_heads=2, num_layers=1,
                              attention='joint' if attention == 'cross'
                              else 'cross', modality_embed=False)).eval()
    other.load_state_dict(cm.state_dict())
    assert not torch.allclose(other(a, v)['tokens'], out)
    with pytest.raises(ValueError, match='attention must be one of'):
        MODELS.build(dict(type='CrossModalTransformer', embed_dims=D,
                          num_heads=2, attention='self'))
