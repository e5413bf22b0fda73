# CWD on BCCD at a tenth of MMRazor's weight (1 instead of 10): as cwd_frcnn_mv2_bccd.py
# otherwise, to see whether the loss's scale is what keeps CWD from helping on this set.
_base_ = ['./cwd_frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0, loss_weight=1.0),
])
