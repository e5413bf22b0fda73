# The GFL student of the shapes set: width 8, a 32-channel FPN and head. Trained alone it is the
# no-KD baseline of ld_gfl.py and crosskd_gfl.py.
_base_ = ['./gfl_r18w32_teacher_shapes.py']

model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32))
