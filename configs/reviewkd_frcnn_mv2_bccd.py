# ReviewKD on BCCD: all FPN levels, student 32 -> teacher 64 channels (inferred), weight 1.2.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2),
])
