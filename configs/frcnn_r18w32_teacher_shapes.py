# Teacher: Faster R-CNN, ResNet-18 at half width (base 32), 64-channel FPN, on the demo set.
_base_ = [
    './_base_/models/faster_rcnn_r18_tiny.py',
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_schedule.py',
    './_base_/default_runtime.py',
]
