# PKD on the FPN and Chen et al.'s output terms on the RPN and the RoI head, on BCCD (as
# pkd_outputs_frcnn.py).
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
    {{_base_.rpn_kd}},
    {{_base_.roi_head_kd}},
])
