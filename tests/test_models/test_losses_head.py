import pytest
import torch

from stftbox.registry import MODELS


def test_triplet_loss_hand_computed():
    loss = MODELS.build(dict(type='TripletLoss', margin=1.0))
    av = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    cls = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    targets = torch.tensor([0, 1])
    # clip anchor: clip0 pos 0, neg 2 -> relu(1+0-2)=0; clip1 pos 1, neg 3
    #   -> relu(1+1-3)=0  => mean 0
    # class anchor: cls0 vs clip0 pos 0, neg clip1 3 -> 0; cls1 vs clip1
    #   pos 1, neg clip0 at 2 -> relu(1+1-2)=0  => mean 0
    assert loss(av, cls, targets).item() == pytest.approx(0.0)
    av2 = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    # clip anchor: clip0 pos 1, neg 1 -> 1; clip1 pos 1, neg 3 -> 0 => 0.5
    # class anchor: cls0 pos d(cls0, clip0)=1, neg d(cls0, clip1)=3 -> 0;
    #   cls1 pos 1, neg d(cls1, clip0)=1 -> 1  => 0.5
    assert loss(av2, cls, targets).item() == pytest.approx(1.0)


def test_projection_and_ce_losses():
    av = torch.tensor([[1.0, 1.0]])
    cls = torch.tensor([[0.0, 1.0], [5.0, 5.0]])
    proj = MODELS.build(dict(type='ProjectionLoss', loss_weight=2.0))
    assert proj(av, cls, torch.tensor([0])).item() == pytest.approx(1.0)
    ce = MODELS.build(dict(type='DistanceCrossEntropyLoss'))
    d = torch.cdist(av, cls)[0]
    expected = -torch.log_softmax(-d, 0)[0]
    assert ce(av, cls, torch.tensor([0])).item() == pytest.approx(
        expected.item())
    with pytest.raises(ValueError, match='temperature'):
        MODELS.build(dict(type='DistanceCrossEntropyLoss', temperature=0))


def test_head_losses_and_distances():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='GZSLHead', in_channels=8, text_channels=5,
                             embed_dims=4))
    feats = dict(embedding=torch.randn(6, 8))
    cls = torch.randn(3, 5)
    losses = head.loss(feats, cls, torch.tensor([0, 1, 2, 0, 1, 2]))
    assert set(losses) == {'loss_triplet', 'loss_projection',
                           'loss_reconstruction'}
    head.eval()
    dist = head.predict(feats, cls)
    av, c = head(feats['embedding'], cls)
    assert dist.shape == (6, 3)
    assert torch.allclose(dist, torch.cdist(av, c))
    with pytest.raises(ValueError, match='no loss'):
        MODELS.build(dict(type='GZSLHead', in_channels=8, text_channels=5,
                          losses=[], reconstruction_weight=0))


def make_model():
    return MODELS.build(dict(
        type='AVGZSLClassifier',
        backbone=dict(type='MeanPoolAVEncoder', audio_channels=3,
                      video_channels=4, embed_dims=8, out_channels=8),
        head=dict(type='GZSLHead', in_channels=8, text_channels=5,
                  embed_dims=4)))


def make_inputs(b=4):
    return dict(audio=torch.randn(b, 6, 3), video=torch.randn(b, 5, 4),
                audio_padding_mask=torch.zeros(b, 6, dtype=torch.bool),
                video_padding_mask=torch.zeros(b, 5, dtype=torch.bool))


def test_classifier_modes():
    torch.manual_seed(0)
    model = make_model()
    inputs = make_inputs()
    labels = dict(labels=torch.tensor([0, 2, 0, 2]))
    with pytest.raises(RuntimeError, match='ClassEmbeddingHook'):
        model(inputs, labels, mode='loss')
    model.set_class_embeddings(torch.randn(4, 5), train_class_ids=[0, 2])
    losses = model(inputs, labels, mode='loss')
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(RuntimeError, match=r'labels \[1\]'):
        model(inputs, dict(labels=torch.tensor([1, 0, 0, 0])), mode='loss')
    model.eval()
    preds = model(inputs, labels, mode='predict')
    assert len(preds) == 4 and preds[1]['gt_label'] == 2
    assert preds[0]['distances'].shape == (4,)
    assert 'embedding' in model(inputs, mode='tensor')
    with pytest.raises(ValueError, match='unknown mode'):
        model(inputs, labels, mode='bogus')


def test_classifier_rejects_nan_loss():
    model = make_model()
    model.set_class_embeddings(torch.randn(4, 5), train_class_ids=[0, 2])
    inputs = make_inputs()
    inputs['audio'][0, 0, 0] = float('nan')
    with pytest.raises(RuntimeError, match='NaN'):
        model(inputs, dict(labels=torch.tensor([0, 2, 0, 2])), mode='loss')


def test_projection_per_modality_and_no_av_reconstruction():
    """apply_to='modalities' sums the loss over the backbone's modality
    embeddings, projected by the head's av_proj; av_reconstruction=False
    leaves only the class-embedding reconstruction."""
    torch.manual_seed(1)
    head = MODELS.build(dict(
        type='GZSLHead', in_channels=8, text_channels=5, embed_dims=4,
        hidden_dims=6, dropout=0.0, av_reconstruction=False,
        losses=[dict(type='ProjectionLoss', loss_weight=0.5,
                     apply_to='modalities')]))
    assert not hasattr(head, 'av_decoder')
    assert head.av_proj.fc1.out_features == 6
    mods = dict(audio=torch.randn(3, 8), video=torch.randn(3, 8))
    feats = dict(embedding=torch.randn(3, 8), modality_embeddings=mods)
    cls, targets = torch.randn(2, 5), torch.tensor([0, 1, 1])
    losses = head.loss(feats, cls, targets)
    c = head.text_proj(cls)
    expect = sum(0.5 * ((head.av_proj(m) - c[targets]) ** 2).mean()
                 for m in mods.values())
    torch.testing.assert_close(losses['loss_projection'], expect)
    rec = 0.5 * ((head.text_decoder(c) - cls) ** 2).mean()
    torch.testing.assert_close(losses['loss_reconstruction'], rec)
    # 'both' adds the fused term
    both = MODELS.build(dict(type='ProjectionLoss', apply_to='both'))
    head.losses[0] = both
    av = head.av_proj(feats['embedding'])
    torch.testing.assert_close(
        head.loss(feats, cls, targets)['loss_projection'],
        2 * expect + ((av - c[targets]) ** 2).mean())
    with pytest.raises(ValueError, match='modality_embeddings'):
        head.loss(dict(embedding=feats['embedding']), cls, targets)
    with pytest.raises(ValueError, match=r'\[B, 8\]'):
        head.loss(dict(embedding=feats['embedding'],
                       modality_embeddings=dict(audio=torch.randn(3, 7))),
                  cls, targets)
    with pytest.raises(ValueError, match='apply_to'):
        MODELS.build(dict(type='ProjectionLoss', apply_to='audio'))
