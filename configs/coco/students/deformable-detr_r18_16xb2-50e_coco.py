# Student: mmdet's Deformable DETR (50 epochs) with a ResNet-18 backbone from torchvision's
# ImageNet weights, C3-C5 (128, 256, 512 channels) into the neck, as KD-DETR's R18 students.
_base_ = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[128, 256, 512]))
