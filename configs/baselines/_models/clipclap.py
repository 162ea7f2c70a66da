# ClipClap-GZSL's ClipClap_model exactly as released (docs/baselines.md):
# O_enc = Linear(1536, 512)-BN-ReLU-Dropout(0.1) on cat(CLIP video 512, CLAP
# audio 1024); class text CLIP 512 + CLAP 1024 through W_enc (same shape);
# O_proj / D_o with decoder_hidden_size 512 and decoder_dropout 0.1; W_proj /
# D_w with additional_dropout 0.1; dim_out 64. Reconstruction target w =
# W_enc(text) not detached (detach_target=False, as released).
model = dict(
    type='ClipClap',
    backbone=dict(
        type='ClipClapBackbone',
        audio_channels=1024,
        video_channels=512,
        embed_dims=512,
        dropout=0.1),
    head=dict(
        type='ClipClapHead',
        in_channels=512,
        text_channels=1536,
        word_embeddings='both',
        clip_text_channels=512,
        embed_dims=64,
        hidden_channels=512,
        dropout=0.1,
        text_dropout=0.1,
        text_encoder_dropout=0.1,
        detach_target=False,
        reconstruction=True,
        regression=True,
        cross_entropy=True))
