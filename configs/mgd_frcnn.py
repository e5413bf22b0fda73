# MGD (Yang et al., ECCV 2022) on the shapes pair: FPN strides 4-32 (P2-P5; the authors leave out
# the max-pooled P6), the student's 32 channels through a 1x1 conv to the teacher's 64 before
# the mask; drop ratio 0.45 and alpha 5e-7, the authors' setting for Faster R-CNN students.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.MGD', student='neck', teacher='neck', strides=[4, 8, 16, 32],
         drop_ratio=0.45, loss_weight=5e-7),
])
