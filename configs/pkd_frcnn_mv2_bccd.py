# PKD on BCCD: all FPN levels, student 32 -> teacher 64 channels through a 1x1 conv, weight 6
# (MMRazor's Faster R-CNN setting).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
])
