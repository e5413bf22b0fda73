# ReviewKD on the Mask R-CNN neck (weight 1.5, the paper's Mask R-CNN R101 -> R18 setting).
_base_ = ['./_base_/distill/maskrcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.5),
])
