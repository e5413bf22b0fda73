# PKD on the necks of the shapes DINO pair (its four levels, strides 8-64, 256 channels each), at
# the shapes Faster R-CNN pair's weight: the feature-level baseline for KD-DETR.
_base_ = ['./_base_/distill/dino_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', strides=[8, 16, 32, 64],
         loss_weight=6.0),
])
