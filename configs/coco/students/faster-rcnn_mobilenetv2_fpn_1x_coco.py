# Student: mmdet's Faster R-CNN 1x on MobileNetV2 (ImageNet weights as mmdet's YOLOv3-MobileNetV2
# takes them, open-mmlab://mmdet/mobilenet_v2), FPN over its strides 4, 8, 16 and 32 outputs.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2', out_indices=(1, 2, 4, 7),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
