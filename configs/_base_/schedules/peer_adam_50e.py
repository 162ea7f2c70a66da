# The peers' optimisation (TCaF-GZSL and AVCA-GZSL): Adam with weight decay
# 1e-5 added to the gradient (Adam, not AdamW), ReduceLROnPlateau on the
# validation HM (mode max, patience 3, factor 0.1) stepped once an epoch,
# 50 epochs, validation after each. The learning rate and whether the
# scheduler is on are set per config.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=1e-5))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='gzsl/HM', rule='greater',
         factor=0.1, patience=3, by_epoch=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
