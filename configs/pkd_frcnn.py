# PKD (Cao et al., NeurIPS 2022) on all FPN levels of the shapes pair (student 32 -> teacher 64
# channels through a 1x1 conv), weight 6 as in MMRazor's Faster R-CNN R101 -> R50 config.
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
])
