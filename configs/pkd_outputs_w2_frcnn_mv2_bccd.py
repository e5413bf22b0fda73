# pkd_outputs_frcnn_mv2_bccd.py with the RPN and RoI-head output terms at twice their weight
# (the soft labels weigh (1 - mu) * 2 = 1 against the hard labels' mu = 0.5), leaning more on a
# teacher far better than the student (0.579 against 0.337 box mAP).
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
    {{_base_.rpn_kd_x2}},
    {{_base_.roi_head_kd_x2}},
])
