# Student on BCCD: Faster R-CNN on an ImageNet-pretrained MobileNetV2 whose first four stages stay
# frozen (half the backward cost on CPU), a 32-channel FPN and a 128-wide box head. Trained alone
# it is the no-KD baseline.
_base_ = ['./_base_/frcnn_mv2_bccd.py']

model = dict(
    backbone=dict(frozen_stages=4),
    neck=dict(out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=32),
                  bbox_head=dict(in_channels=32, fc_out_channels=128)))
