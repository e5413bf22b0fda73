# CrossKD (Wang et al., CVPR 2024) on the shapes GFL pair: the student head's maps after its first
# conv (of two) go through the teacher's second conv and predictors; quality-focal KD (beta 1)
# and box-distribution KD (T 1) with the authors' GFL weights 1 and 4.
_base_ = ['./_base_/distill/gfl_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.CrossKD', reused_index=1, cls_weight=1.0, reg_weight=4.0),
])
