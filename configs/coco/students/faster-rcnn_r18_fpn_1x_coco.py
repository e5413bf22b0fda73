# Student: mmdet's Faster R-CNN 1x with a ResNet-18 backbone from torchvision's ImageNet weights,
# the way mmdet's retinanet_r18_fpn_1x_coco.py makes its R18 (mmdet ships no R18 Faster R-CNN).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
