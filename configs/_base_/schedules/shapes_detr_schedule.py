# DETR-family models trained from scratch on the demo set: the demo schedule with DINO's AdamW
# (lr 1e-4, weight decay 1e-4, gradients clipped at 0.1) at batch 8, 24 epochs; `max_epochs` is
# what the demo scales (param_scheduler[1], as in shapes_schedule.py).
_base_ = ['./shapes_schedule.py']

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs,
         milestones=[int(max_epochs * 0.75)], gamma=0.1),
]
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001),
    clip_grad=dict(max_norm=0.1, norm_type=2))
