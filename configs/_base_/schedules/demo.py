# A short schedule for the bundled surrogate data on a 2-core CPU.
_base_ = ['./adam_50e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=6, val_interval=1)
