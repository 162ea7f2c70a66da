# AVMST-style baseline (the STFT authors' ICME 2023 model, built on AVCA;
# docs/method.md [P]), from stftbox parts: the STFT backbone with a plain
# integrate-and-fire SNN branch (IFNode, no GLP, no TSF: mean over steps),
# a transformer branch without knowledge slots, and a single-scale concat
# fusion of the two branch outputs [I]. Same head and losses as STFT.
# Widths of UCF-GZSL cls features (128-d audio, 4096-d video, 300-d text).
embed_dims = 512
model = dict(
    type='AVGZSLClassifier',
    backbone=dict(
        type='STFTBackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=embed_dims,
        encoder=dict(type='ModalityEncoder', dropout=0.1),
        snn_branch=dict(
            type='SNNBranch',
            time_steps=10,
            num_blocks=3,
            neuron=dict(type='IFNode', surrogate=dict(type='ATan',
                                                      alpha=2.0)),
            pooling=None,
            tsf=None,
            dropout=0.1),
        transformer_branch=dict(
            type='TransformerBranch',
            knowledge_combiner=None,
            cross_modal=dict(type='CrossModalTransformer', num_heads=8,
                             num_layers=2, drop=0.1)),
        fusion=dict(type='ConcatFusion', activation='GELU'),
        multi_scale=None,
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
