# PKD (Cao et al., NeurIPS 2022) on all FPN levels of the shapes pair (student 32 -> teacher 64
# channels through a 1x1 conv), weight 6 as in MMRazor's Faster R-CNN R101 -> R50 config.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
])
