# Student: mmdet's DINO 4-scale (12 epochs) with a ResNet-18 backbone from torchvision's ImageNet
# weights, C3-C5 (128, 256, 512 channels) into the neck, as KD-DETR's R18 students.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[128, 256, 512]))
