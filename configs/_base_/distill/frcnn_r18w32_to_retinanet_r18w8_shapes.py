# Student retinanet_r18w8_student_shapes.py (one-stage, strides 8-128) learns from the two-stage
# teacher frcnn_r18w32_teacher_shapes.py (strides 4-64; trained first:
# python tools/train.py configs/frcnn_r18w32_teacher_shapes.py).
# Configs that inherit this name their distillers.
_base_ = ['../../retinanet_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../frcnn_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/frcnn_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[])
