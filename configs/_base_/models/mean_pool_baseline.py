# The simplest audio-visual GZSL model: temporal mean + MLP per modality,
# GZSL head with triplet + projection + reconstruction losses.
# Widths come from the dataset base file (audio_channels, video_channels,
# text_channels).
model = dict(
    type='AVGZSLClassifier',
    backbone=dict(type='MeanPoolAVEncoder', audio_channels=128,
                  video_channels=4096, embed_dims=256, out_channels=256,
                  dropout=0.1),
    head=dict(type='GZSLHead', in_channels=256, text_channels=300,
              embed_dims=64, dropout=0.1,
              losses=[dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                      dict(type='ProjectionLoss', loss_weight=0.5)],
              reconstruction_weight=0.5))
