# Mask R-CNN teacher: ResNet-18 at half width (base 32), 64-channel FPN, on the shapes set.
_base_ = [
    './_base_/models/mask_rcnn_r18_tiny.py',
    './_base_/datasets/shapes_instance.py',
    './_base_/schedules/shapes_schedule.py',
    './_base_/default_runtime.py',
]
