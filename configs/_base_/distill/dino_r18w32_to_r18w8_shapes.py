# Student dino_r18w8_student_shapes.py learns from teacher dino_r18w32_teacher_shapes.py (trained
# first: python tools/train.py configs/dino_r18w32_teacher_shapes.py). Configs that inherit this
# name their distillers.
_base_ = ['../../dino_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../dino_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/dino_r18w32_teacher_shapes/epoch_24.pth'),
    distillers=[])
