# GFL teacher on BCCD (for LD and CrossKD, which need a distribution box head): the pretrained
# MobileNetV2 fine-tuned from its second stage on, a 64-channel FPN and head, as
# frcnn_mv2_teacher_bccd.py.
_base_ = ['./_base_/gfl_mv2_bccd.py']

model = dict(
    backbone=dict(frozen_stages=1),
    neck=dict(out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64))
