# AVCA-style baseline (Mercea et al., CVPR 2022), built from stftbox parts:
# temporally averaged features, one encoder per modality, audio<->video
# cross-attention, concatenation; triplet + regression (projection) +
# reconstruction losses. Widths of UCF-GZSL cls features (VGGish 128-d
# audio, C3D 4096-d video, word2vec 300-d text).
embed_dims = 512
model = dict(
    type='AVGZSLClassifier',
    backbone=dict(
        type='AVCABackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=embed_dims,
        encoder=dict(type='ModalityEncoder', dropout=0.1),
        num_heads=8,
        temporal_average=True,
        out_channels=embed_dims,
        reconstruction_weight=0.5),
    head=dict(
        type='GZSLHead',
        in_channels=embed_dims,
        text_channels=300,
        embed_dims=64,
        dropout=0.1,
        losses=[dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                dict(type='ProjectionLoss', loss_weight=0.5)],
        reconstruction_weight=0.5))
