# Face student retinanet_r18w8_student_faces.py learns from retinanet_r18w32_teacher_faces.py
# (trained first: python tools/train.py configs/retinanet_r18w32_teacher_faces.py).
_base_ = ['../../retinanet_r18w8_student_faces.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../../retinanet_r18w32_teacher_faces.py',
                 checkpoint='work_dirs/retinanet_r18w32_teacher_faces/epoch_12.pth'),
    distillers=[])
