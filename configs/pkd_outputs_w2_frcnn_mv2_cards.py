# The BCCD default (pkd_outputs_w2_frcnn_mv2_bccd.py: PKD + the RPN and RoI-head output terms at
# twice their weight) on the playing-card pair, as a user would take it to a new set.
# PKD levels: P2-P6 (strides 4-64), as the BCCD default (MMRazor's config distils P2-P5).
_base_ = ['./_base_/distill/frcnn_mv2_cards.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
    {{_base_.rpn_kd_x2}},
    {{_base_.roi_head_kd_x2}},
])
