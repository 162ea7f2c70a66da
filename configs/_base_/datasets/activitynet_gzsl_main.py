# ActivityNet-GZSL, SeLaVi temporal features, main split.
# Same dataloaders as ucf_gzsl_main.py; only these dataset fields differ.
_base_ = ['./ucf_gzsl_main.py']
data = dict(
    data_root='data/avgzsl_benchmark_non_averaged_datasets/ActivityNet',
    dataset_name='ActivityNet')
train_dataloader = dict(dataset=data)
val_dataloader = dict(dataset=data)
test_dataloader = dict(dataset=data)
