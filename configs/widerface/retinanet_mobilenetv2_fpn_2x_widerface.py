# Face student: the teacher's RetinaNet (same anchors on the same strides, so its classification
# maps align with the teacher's anchor by anchor) on MobileNetV2 (ImageNet weights as mmdet's
# YOLOv3-MobileNetV2 takes them) with a 64-channel FPN and a two-conv head. Trained alone it is
# the baseline of clsmapkd_retinanet_r50-mobilenetv2_fpn_2x_widerface.py. The backbone is set up
# as in ../coco/students/faster-rcnn_mobilenetv2_fpn_1x_coco.py (ReviewKD's MobileNetV2): the
# 24/32/96/320-channel blocks of strides 4-32 (mmdet out indices 1, 2, 4, 6), frozen BatchNorm,
# every convolution trained; conv2 (1280 channels) runs unread, hence find_unused_parameters.
_base_ = ['./retinanet_r50_fpn_2x_widerface.py']

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2', out_indices=(1, 2, 4, 6), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 320], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2))
find_unused_parameters = True
