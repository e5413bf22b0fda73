# LD on the BCCD GFL pair, set as ld_gfl.py (the shapes pair): the student's box-edge
# distributions learn the teacher's on the student's positive priors, T 10 and weight 0.25 as
# mmdet's LD config.
_base_ = ['./_base_/distill/gfl_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.LD', temperature=10.0, loss_weight=0.25),
])
