# VGGSound-GZSL, CLIP/CLAP features built from the raw videos by
#   python tools/dataset_converters/extract_features.py vggsound /path/videos \
#       --class-split /path/VGGSound/class-split
# Same layouts, widths and dataloaders as ucf_gzsl_clipclap.py; only these
# dataset fields differ.
_base_ = ['./ucf_gzsl_clipclap.py']
data = dict(
    data_root='data/avgzsl_benchmark_non_averaged_datasets/VGGSound',
    dataset_name='VGGSound')
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)
