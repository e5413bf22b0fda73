# pkd_outputs_w2_frcnn_mv2_bccd.py with the output terms at four times their weight (the soft
# labels then weigh (1 - mu) * 4 = 2 against the hard labels' mu = 0.5): how far the gain of
# weight 2 on BCCD goes.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

output_kd = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0, loss_weight=4.0)
model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
    dict(type='mmkd.RPNKD', **output_kd),
    dict(type='mmkd.RoIHeadKD', **output_kd),
])
