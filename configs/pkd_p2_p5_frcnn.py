# PKD on the shapes pair at MMRazor's Faster R-CNN levels: FPN levels 0-3 (P2-P5, strides 4-32),
# weight 6 as its R101 -> R50 config. pkd_frcnn.py distils P6 (stride 64) as well.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0,
         strides=[4, 8, 16, 32]),
])
