# PKD and ReviewKD together on BCCD: all FPN levels, each at its own setting
# (pkd_frcnn_mv2_bccd.py: weight 6; reviewkd_frcnn_mv2_bccd.py: weight 1.2), losses summed.
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2),
])
