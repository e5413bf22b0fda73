# Teacher: DINO, ResNet-18 at half width (base 32), 2 encoder and 3 decoder layers, on the demo set.
_base_ = [
    './_base_/models/dino_r18_tiny.py',
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_detr_schedule.py',
    './_base_/default_runtime.py',
]
