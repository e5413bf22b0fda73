# GFL (gfl_r18_tiny.py: quality focal loss, distribution box edges, ATSS, anchors from 16 px) on
# an ImageNet-pretrained MobileNetV2, read as faster_rcnn_mv2.py reads it; the FPN takes its
# stride 8, 16 and 32 outputs (P3-P5) and adds P6-P7.
_base_ = './gfl_r18_tiny.py'

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2', out_indices=(1, 2, 4, 7), norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='mmkd://imagenet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
