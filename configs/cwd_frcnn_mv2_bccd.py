# CWD on BCCD: all FPN levels, student 32 -> teacher 64 channels through a 1x1 conv, tau 1,
# weight 10 (MMRazor's Faster R-CNN setting).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0, loss_weight=10.0),
])
