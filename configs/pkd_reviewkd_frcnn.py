# PKD and ReviewKD together on all FPN levels of the shapes pair: each at its own setting
# (pkd_frcnn.py: weight 6; reviewkd_frcnn.py: weight 1.2), their losses summed.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2),
])
