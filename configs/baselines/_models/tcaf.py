# TCaF-style baseline (Mercea et al., ECCV 2022), built from stftbox parts:
# modality encoders + cross-modal transformer over the temporal tokens (no
# SNN, no fusion), pooled per modality; cross-entropy over class distances
# + regression (projection) + reconstruction losses. Widths of UCF-GZSL cls
# features (VGGish 128-d audio, C3D 4096-d video, word2vec 300-d text).
embed_dims = 512
model = dict(
    type='AVGZSLClassifier',
    backbone=dict(
        type='TCaFBackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=embed_dims,
        encoder=dict(type='ModalityEncoder', dropout=0.1),
        transformer=dict(type='CrossModalTransformer', num_heads=8,
                         num_layers=2, drop=0.1),
        pooling='modality_concat',
        out_channels=embed_dims,
        reconstruction_weight=0.5),
    head=dict(
        type='GZSLHead',
        in_channels=embed_dims,
        text_channels=300,
        embed_dims=64,
        dropout=0.1,
        losses=[dict(type='DistanceCrossEntropyLoss', loss_weight=0.5),
                dict(type='ProjectionLoss', loss_weight=0.5)],
        reconstruction_weight=0.5))
