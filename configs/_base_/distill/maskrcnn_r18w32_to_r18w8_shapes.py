# Mask R-CNN student maskrcnn_r18w8_student_shapes.py learns from maskrcnn_r18w32_teacher_shapes.py
# (trained first: python tools/train.py configs/maskrcnn_r18w32_teacher_shapes.py).
_base_ = ['../../maskrcnn_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../maskrcnn_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/maskrcnn_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[])
