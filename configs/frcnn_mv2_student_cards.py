# Student on the playing-card set: the BCCD student (pretrained MobileNetV2 with its first four
# stages frozen, a 32-channel FPN, a 128-wide box head) on the cards data. Trained alone it is
# the no-KD baseline.
_base_ = ['./_base_/frcnn_mv2_cards.py']

model = dict(
    backbone=dict(frozen_stages=4),
    neck=dict(out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=32),
                  bbox_head=dict(in_channels=32, fc_out_channels=128)))
