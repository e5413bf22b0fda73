# A one-class RetinaNet sized for CPU and small faces: ResNet-18 of width `base_channels` from
# scratch, FPN P2-P6 (strides 4-64), face-shaped anchors (h/w 1.25) from 8 px up.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

model = dict(
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64, start_level=0,
              add_extra_convs='on_output', num_outs=5),
    bbox_head=dict(
        num_classes=1, in_channels=64, feat_channels=64, stacked_convs=2,
        anchor_generator=dict(octave_base_scale=2, scales_per_octave=3, ratios=[1.25],
                              strides=[4, 8, 16, 32, 64])),
    test_cfg=dict(nms_pre=500, max_per_img=100))
