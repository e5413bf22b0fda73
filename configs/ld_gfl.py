# LD (Zheng et al., CVPR 2022) on the shapes GFL pair: the student's box-edge distributions learn
# the teacher's on the student's positive priors, T 10 and weight 0.25 as mmdet's LD config.
_base_ = ['./_base_/distill/gfl_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.LD', temperature=10.0, loss_weight=0.25),
])
