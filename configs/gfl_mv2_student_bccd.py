# GFL student on BCCD: the pretrained MobileNetV2 with its first four stages frozen, a 32-channel
# FPN and head, as frcnn_mv2_student_bccd.py. Trained alone it is the no-KD baseline of
# crosskd_gfl_mv2_bccd.py.
_base_ = ['./_base_/gfl_mv2_bccd.py']

model = dict(
    backbone=dict(frozen_stages=4),
    neck=dict(out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32))
