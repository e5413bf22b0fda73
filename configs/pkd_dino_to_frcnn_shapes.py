# A heterogeneous pair: the shapes DINO teacher (ResNet-18 w32, its neck four levels of 256
# channels, strides 8-64) teaches the shapes Faster R-CNN student (ResNet-18 w8, FPN of 32
# channels, strides 4-64) by PKD on the levels they share by stride, through 1x1 connectors, at
# the Faster R-CNN pair's weight. Only feature KD applies across a DETR teacher and a CNN student
# (KD-DETR's anchor-to-query encoding for CNN students is not built). Check the pair before
# training: python tools/inspect_distill.py configs/pkd_dino_to_frcnn_shapes.py
_base_ = ['./frcnn_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/dino_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/dino_r18w32_teacher_shapes/epoch_24.pth'),
    distillers=[
        dict(type='mmkd.PKD', student='neck', teacher='neck', strides=[8, 16, 32, 64],
             loss_weight=6.0),
    ])
