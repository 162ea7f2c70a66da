# VGGSound-GZSL with ClipClap-GZSL's features (clip level): CLIP ViT-B/32
# middle-frame image embedding (video, 512-d) and WavCaps/CLAP audio
# embedding (1024-d); class texts are CLIP text (512) followed by CLAP text
# (1024), 1536-d; cls split. Minimal stand-in (issue 18) until the raw-media
# feature bases of issue 16 land; only the widths matter to the models.
_base_ = ['./vggsound_gzsl_cls.py']
data = dict(
    feature_method='clipclap_features',
    audio_channels=1024,
    video_channels=512,
    max_steps=1,
    eval_max_steps=1)
text_channels = 1536
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)
