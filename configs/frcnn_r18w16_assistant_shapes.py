# Teacher assistant: the shapes detector at half the teacher's backbone width (base 16) with a
# 48-channel FPN and a 192-wide box head, between the teacher (32, 64, 256) and the student
# (8, 32, 128).
_base_ = ['./frcnn_r18w8_student_shapes.py']

model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=48),
    rpn_head=dict(in_channels=48, feat_channels=48),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=48),
        bbox_head=dict(in_channels=48, fc_out_channels=192)))
