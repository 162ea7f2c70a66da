# AVCA (Mercea, Riesch, Koepke, Akata, CVPR 2022) exactly as released in
# ExplainableML/AVCA-GZSL (docs/baselines.md): the UCF-GZSL cls-feature run of
# run_scripts/UCF-GZSL/avca.sh. 3,331,508 parameters (pos_embed, 600 of them,
# never trained). Evaluation on the video branch only, as the peer.
# Peer names: embeddings_hidden_size -> backbone.hidden_channels,
# embedding_dropout -> encoder_dropout, decoder_hidden_size / decoder_dropout
# -> head.hidden_channels / dropout, additional_dropout -> head.text_dropout,
# momentum -> momentum (second BatchNorm of the two-layer nets only).
momentum = 0.99
model = dict(
    type='AVCA',
    backbone=dict(
        type='AVCABackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=300,
        hidden_channels=512,
        encoder_dropout=0.2,
        momentum=momentum,
        num_layers=1,
        num_heads=3,
        mlp_dims=64),
    head=dict(
        type='AVCAHead',
        in_channels=300,
        text_channels=300,
        embed_dims=64,
        hidden_channels=512,
        dropout=0.3,
        text_dropout=0.5,
        momentum=momentum,
        margin=1.0,
        first_additional_triplet=1,
        second_additional_triplet=1,
        regression=True,
        eval_mode='video'))
