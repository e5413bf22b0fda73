# pkd_outputs_w2_frcnn_mv2_bccd.py with the output terms at four times their weight (the soft
# labels then weigh (1 - mu) * 4 = 2 against the hard labels' mu = 0.5): how far the gain of
# weight 2 on BCCD goes.
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

output_kd = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0, loss_weight=4.0)
model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
    dict(type='mmkd.RPNKD', **output_kd),
    dict(type='mmkd.RoIHeadKD', **output_kd),
])
