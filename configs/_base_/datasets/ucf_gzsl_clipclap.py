# UCF-GZSL, CLIP/CLAP features built from the raw videos by
#   python tools/dataset_converters/extract_features.py ucf /path/UCF101
# (docs/data.md, "Building the features yourself"); cls split, as
# ClipClap-GZSL. Two layouts in one data root:
# * temporal (default here, STFT/TCaF): features/clipclap_features_non_averaged,
#   a CLIP ViT-B/32 frame and a CLAP 1 s window a second (.pkl);
# * averaged (`clipclap_averaged` below, AVCA/ClipClap): features/
#   clipclap_features, the middle frame and 10 s of audio centred on the clip
#   (.h5, T = 1).
# Widths: CLIP image 512, CLAP audio 512 (laion/clap-htsat-unfused), class
# names CLIP text 512 + CLAP text 512 = 1024 (features/<method>/
# extractor.json records them; change the three numbers if you extract with
# other models).
_base_ = ['./ucf_gzsl_cls.py']
data = dict(
    data_root='data/avgzsl_benchmark_non_averaged_datasets/UCF',
    dataset_name='UCF',
    feature_method='clipclap_features_non_averaged',
    split='cls_split',
    feature_format='pkl',
    audio_channels=512,
    video_channels=512,
    audio_step_seconds=1.0,
    video_step_seconds=1.0)
text_channels = 1024
# the averaged layout of the same data root (use as `dataset=clipclap_averaged`)
clipclap_averaged = dict(feature_method='clipclap_features',
                         feature_format='h5')
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)

# class names of any candidate are embedded by the CLIP + CLAP text towers of
# the extractor recorded in the checkpoint (stftbox.apis.media)
class_name_encoder = dict(type='feature_extractor')
# the extractor used when a checkpoint records none (the defaults of
# extract_features.py; temporal layout)
feature_extractor = dict(
    type='AVFeatureExtractor',
    video=dict(type='CLIPImageExtractor',
               model='openai/clip-vit-base-patch32',
               sampler=dict(type='EveryNSeconds', interval=1.0)),
    audio=dict(type='CLAPAudioExtractor', model='laion/clap-htsat-unfused',
               window_seconds=1.0, hop_seconds=1.0),
    text=dict(type='CLIPCLAPTextEncoder',
              clip=dict(model='openai/clip-vit-base-patch32'),
              clap=dict(model='laion/clap-htsat-unfused')),
    layout='temporal')

# benchmark input [I]: about 10 s clips, one step a second
benchmark_seq_lens = dict(audio=10, video=10)
