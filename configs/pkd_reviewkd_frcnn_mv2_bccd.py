# PKD and ReviewKD together on BCCD: all FPN levels, each at its own setting
# (pkd_frcnn_mv2_bccd.py: weight 6; reviewkd_frcnn_mv2_bccd.py: weight 1.2), losses summed.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2),
])
