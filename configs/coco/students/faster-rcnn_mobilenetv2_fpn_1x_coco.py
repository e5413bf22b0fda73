# Student: mmdet's Faster R-CNN 1x on MobileNetV2 (ImageNet weights as mmdet's YOLOv3-MobileNetV2
# takes them, open-mmlab://mmdet/mobilenet_v2), set up as ReviewKD's R50 -> MobileNetV2 recipe
# (dvlab-research/ReviewKD, Detection/configs/ReviewKD-MV2-R50.yaml) sets up its MobileNetV2:
# - the FPN reads the last block of each stride, 24, 32, 96 and 320 channels (strides 4, 8, 16,
#   32): mmdet's out indices 1, 2, 4 and 6 (index 7 is the 1280-channel conv2, which the authors'
#   backbone does not build);
# - frozen BatchNorm (Detectron2's FrozenBN: statistics and affine fixed): norm_eval=True and
#   requires_grad=False; every convolution trains (FREEZE_AT 0: frozen_stages=-1).
# mmdet's MobileNetV2 still runs conv2, whose output nothing reads: its weights get no gradient,
# so DDP must be told (find_unused_parameters, as mmdet's yolov3_mobilenetv2 config does).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2', out_indices=(1, 2, 4, 6), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 320]))
find_unused_parameters = True
