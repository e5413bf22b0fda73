# Teacher on the playing-card set: the BCCD teacher (pretrained MobileNetV2 fine-tuned from its
# second stage on, a 64-channel FPN, a 512-wide box head) on the cards data.
_base_ = ['./_base_/frcnn_mv2_cards.py']

model = dict(
    backbone=dict(frozen_stages=1),
    neck=dict(out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=64),
                  bbox_head=dict(in_channels=64, fc_out_channels=512)))
