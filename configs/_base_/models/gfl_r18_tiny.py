# GFL (Li et al., NeurIPS 2020; mmdet's GFLHead: quality focal loss, each box edge a
# distribution over reg_max + 1 bins, ATSS assignment) as in mmdet's gfl_r50_fpn_1x_coco.py,
# sized for CPU: ResNet-18 of width `base_channels` from scratch, FPN P3-P7 (strides 8-128), a
# two-conv head, anchors from 16 px for 12-48 px objects.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

model = dict(
    type='GFL',
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(
        _delete_=True,
        type='GFLHead',
        num_classes=8,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=2,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=16,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(_delete_=True, assigner=dict(type='ATSSAssigner', topk=9),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=500, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))
