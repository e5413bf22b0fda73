# Student: the same detector at a quarter of the teacher's backbone width (base 8) with a
# 32-channel FPN and a 128-wide box head. Trained alone it is the no-KD baseline.
_base_ = [
    './_base_/models/faster_rcnn_r18_tiny.py',
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_schedule.py',
    './_base_/default_runtime.py',
]

model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=128)))
