# [P] Adam, weight decay 1e-5, ReduceLROnPlateau on validation HM
# (patience 3), 50 epochs, validation after every epoch (docs/method.md, Training).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='gzsl/HM', rule='greater',
         factor=0.1, patience=3, by_epoch=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
