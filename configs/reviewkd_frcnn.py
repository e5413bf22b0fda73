# The student of frcnn_r18w8_student_shapes.py, distilled from the teacher of
# frcnn_r18w32_teacher_shapes.py by ReviewKD on all FPN levels (32 -> 64 channels, inferred).
_base_ = ['./frcnn_r18w8_student_shapes.py']

teacher_work_dir = 'work_dirs/frcnn_r18w32_teacher_shapes'
model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/frcnn_r18w32_teacher_shapes.py',
                 checkpoint=teacher_work_dir + '/epoch_12.pth'),
    distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2)])
