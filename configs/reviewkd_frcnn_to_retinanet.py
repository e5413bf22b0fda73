# ReviewKD from a two-stage teacher into a one-stage student: Faster R-CNN (FPN strides 4-64, 64
# channels) -> RetinaNet (strides 8-128, 32 channels). The levels are paired by stride (8, 16, 32,
# 64; the student's 128 and the teacher's 4 are left out), weight 1.2 as in reviewkd_frcnn.py.
_base_ = ['./_base_/distill/frcnn_r18w32_to_retinanet_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2),
])
