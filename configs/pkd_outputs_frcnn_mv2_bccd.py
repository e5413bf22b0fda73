# PKD on the FPN and Chen et al.'s output terms on the RPN and the RoI head, on BCCD (as
# pkd_outputs_frcnn.py).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
    {{_base_.rpn_kd}},
    {{_base_.roi_head_kd}},
])
