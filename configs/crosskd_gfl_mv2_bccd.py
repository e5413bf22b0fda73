# CrossKD on the BCCD GFL pair, set as crosskd_gfl.py (the shapes pair): the student head's maps
# after its first conv go through the teacher's second conv and predictors; quality-focal KD
# (beta 1) and box-distribution KD (T 1) at the authors' GFL weights 1 and 4.
_base_ = ['./_base_/distill/gfl_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.CrossKD', reused_index=1, cls_weight=1.0, reg_weight=4.0),
])
