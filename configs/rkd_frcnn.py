# RKD (Park et al., CVPR 2019) between the ground-truth objects of each batch of the shapes pair:
# each box RoI-aligned (7x7) from its FPN level in each model; distance and angle relations,
# lambda_D 1 and lambda_A 2 as in the paper.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.RKD', student='neck', teacher='neck', distance_weight=1.0,
         angle_weight=2.0),
])
