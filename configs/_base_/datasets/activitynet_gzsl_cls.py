# ActivityNet-GZSL, C3D + VGGish temporal features, cls split.
# Same dataloaders as ucf_gzsl_cls.py; only these dataset fields differ.
_base_ = ['./ucf_gzsl_cls.py']
data = dict(
    data_root='data/avgzsl_benchmark_non_averaged_datasets/ActivityNet',
    dataset_name='ActivityNet')
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)
