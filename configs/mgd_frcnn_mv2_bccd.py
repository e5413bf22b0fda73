# MGD on BCCD: FPN strides 4-32 (P2-P5), the student's 32 channels through a 1x1 conv to the
# teacher's 64 before the mask; drop ratio 0.45 and alpha 5e-7 (the authors' Faster R-CNN
# student setting).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.MGD', student='neck', teacher='neck', strides=[4, 8, 16, 32],
         drop_ratio=0.45, loss_weight=5e-7),
])
