# pkd_outputs_frcnn_mv2_bccd.py with the RPN and RoI-head output terms at twice their weight
# (the soft labels weigh (1 - mu) * 2 = 1 against the hard labels' mu = 0.5), leaning more on a
# teacher far better than the student (0.579 against 0.337 box mAP).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
    {{_base_.rpn_kd_x2}},
    {{_base_.roi_head_kd_x2}},
])
