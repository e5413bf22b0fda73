# ReviewKD on all FPN levels (student 32 -> teacher 64 channels, inferred), weight 1.2 as in the
# paper's Faster R-CNN R101 -> R18 setting.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2),
])
