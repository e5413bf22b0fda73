# Mask R-CNN student: a quarter of the teacher's backbone width (base 8), 32-channel FPN,
# 128-wide box head, 32-channel mask head.
_base_ = ['./maskrcnn_r18w32_teacher_shapes.py']

model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=128),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(in_channels=32, conv_out_channels=32)))
