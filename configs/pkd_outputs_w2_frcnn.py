# pkd_outputs_frcnn.py with the RPN and RoI-head output terms at twice their weight (the soft
# labels weigh (1 - mu) * 2 = 1 against the hard labels' mu = 0.5), as
# pkd_outputs_w2_frcnn_mv2_bccd.py on BCCD.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py',
          './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
    {{_base_.rpn_kd_x2}},
    {{_base_.roi_head_kd_x2}},
])
