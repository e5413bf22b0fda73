# Face student: the teacher's detector at a quarter of its backbone width (base 8), a 32-channel
# FPN and a one-conv head; the same anchors, so classification maps align one to one.
_base_ = ['./retinanet_r18w32_teacher_faces.py']

model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1))
