# Found by tools/search_recipe.py on the BCCD pair, selected on the val split (2026-12-06; 4-epoch
# trials, a budget of 9 of them: 3 full trainings; the BCCD default's ratios given first with
# --start-with; docs/benchmarks/search.md): PKD on P2-P6 at 30x the student's detection loss and
# Chen et al.'s RPN and RoI-head output terms at 1.05x each, weights fixed from the first 50
# iterations. It is the BCCD default (pkd_outputs_w2_frcnn_mv2_bccd.py) in relative weights, the
# 2.1x of its output terms split evenly (the default's own split: 0.92x and 1.19x).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', strides=[4, 8, 16, 32, 64],
         loss_weight=dict(ratio=30.0, over_iters=50)),
    dict(_base_.rpn_kd, loss_weight=dict(ratio=1.05, over_iters=50)),
    dict(_base_.roi_head_kd, loss_weight=dict(ratio=1.05, over_iters=50)),
])
