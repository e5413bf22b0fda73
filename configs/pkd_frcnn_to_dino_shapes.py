# A heterogeneous pair, the CNN side teaching: the shapes Faster R-CNN teacher (ResNet-18 w32,
# FPN of 64 channels, strides 4-64) teaches the shapes DINO student (ResNet-18 w8, its neck four
# levels of 256 channels, strides 8-64) by PKD on the levels they share by stride, the student's
# maps through 1x1 connectors to the teacher's width, at the Faster R-CNN pair's weight. On the
# shapes set this teacher (box mAP 0.476 at 12 epochs) is the stronger detector of the two
# families, which the other direction (configs/pkd_dino_to_frcnn_shapes.py) lacks.
#   python tools/inspect_distill.py configs/pkd_frcnn_to_dino_shapes.py
_base_ = ['./dino_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/frcnn_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/frcnn_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[
        dict(type='mmkd.PKD', student='neck', teacher='neck', strides=[8, 16, 32, 64],
             loss_weight=6.0),
    ])
