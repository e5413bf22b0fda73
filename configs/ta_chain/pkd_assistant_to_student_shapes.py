# Teacher-assistant chain, stage 2: the assistant trained by stage 1 distils into the shapes
# student (w8) by PKD. tools/chain.py sets model.teacher to stage 1's exported student; alone,
# point model.teacher at an assistant of your own (a plain mmdet config and checkpoint).
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['../frcnn_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../frcnn_r18w16_assistant_shapes.py',
                 checkpoint='work_dirs/ta_chain/stage1_pkd_teacher_to_assistant_shapes/'
                            'student/student.pth'),
    distillers=[dict(type='mmkd.PKD', student='neck', teacher='neck',
                     strides=[4, 8, 16, 32, 64], loss_weight=6.0)])
