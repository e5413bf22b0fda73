# Student gfl_r18w8_student_shapes.py learns from teacher gfl_r18w32_teacher_shapes.py (trained
# first: python tools/train.py configs/gfl_r18w32_teacher_shapes.py). Configs that inherit this
# name their distillers.
_base_ = ['../../gfl_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../gfl_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/gfl_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[])
