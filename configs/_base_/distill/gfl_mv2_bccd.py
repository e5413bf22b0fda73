# Student gfl_mv2_student_bccd.py learns from teacher gfl_mv2_teacher_bccd.py
# (trained first: python tools/train.py configs/gfl_mv2_teacher_bccd.py).
# Configs that inherit this name their distillers.
_base_ = ['../../gfl_mv2_student_bccd.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../gfl_mv2_teacher_bccd.py',
                 checkpoint='work_dirs/gfl_mv2_teacher_bccd/epoch_12.pth'),
    distillers=[])
