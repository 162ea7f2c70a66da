# TCaF (Mercea, Hummel, Koepke, Akata, ECCV 2022) exactly as released in
# ExplainableML/TCAF-GZSL (docs/baselines.md): the best UCF-GZSL cls
# configuration (config/best/best_cls/best_ucf.yaml). 7,269,972 parameters.
# Peer names: embeddings_hidden_size -> hidden_channels, embedding_dropout ->
# encoder_dropout, transformer_* -> num_layers/num_heads/head_dims/mlp_dims/
# dropout, transformer_embedding_* -> time_embed_*, decoder_hidden_size /
# decoder_dropout / additional_dropout -> head.
model = dict(
    type='TCaF',
    backbone=dict(
        type='TCaFBackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=300,
        hidden_channels=512,
        encoder_dropout=0.3,
        time_embed_dims=64,
        time_embed_dropout=0.2,
        fourier_scale=10.0,
        num_layers=6,
        num_heads=8,
        head_dims=64,
        mlp_dims=128,
        dropout=0.3,
        cross_attention_only=True,
        audio_step_seconds=0.96,
        video_step_seconds=0.64),
    head=dict(
        type='TCaFHead',
        in_channels=300,
        text_channels=300,
        embed_dims=64,
        hidden_channels=512,
        dropout=0.1,
        text_dropout=0.1,
        cross_entropy=dict(type='DotProductCrossEntropyLoss'),
        regression=dict(type='ProjectionLoss'),
        reconstruction_weight=1.0))
