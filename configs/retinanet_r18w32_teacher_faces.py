# Face teacher: RetinaNet, ResNet-18 at half width (base 32), 64-channel FPN and head.
_base_ = [
    './_base_/models/retinanet_r18_tiny_face.py',
    './_base_/datasets/faces_detection.py',
    './_base_/schedules/shapes_schedule.py',
    './_base_/default_runtime.py',
]
optim_wrapper = dict(optimizer=dict(lr=0.01))
