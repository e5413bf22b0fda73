# The GFL teacher of the shapes set (for LD and CrossKD, which need a distribution box head):
# ResNet-18 at width 32, a 64-channel FPN and head.
_base_ = [
    './_base_/models/gfl_r18_tiny.py',
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_schedule.py',
    './_base_/default_runtime.py',
]
