# Student frcnn_mv2_student_cards.py learns from teacher frcnn_mv2_teacher_cards.py
# (trained first: python tools/train.py configs/frcnn_mv2_teacher_cards.py).
# Configs that inherit this name their distillers.
_base_ = ['../../frcnn_mv2_student_cards.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../frcnn_mv2_teacher_cards.py',
                 checkpoint='work_dirs/frcnn_mv2_teacher_cards/epoch_12.pth'),
    distillers=[])
