# Teacher on BCCD: the same pretrained MobileNetV2 fine-tuned from its second stage on, a
# 64-channel FPN and a 512-wide box head; the demo also trains it for longer than the students.
_base_ = ['./_base_/frcnn_mv2_bccd.py']

model = dict(
    backbone=dict(frozen_stages=1),
    neck=dict(out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=64),
                  bbox_head=dict(in_channels=64, fc_out_channels=512)))
