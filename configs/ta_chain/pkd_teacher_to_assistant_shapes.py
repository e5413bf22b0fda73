# Teacher-assistant chain (Mirzadeh et al., AAAI 2020), stage 1: the shapes teacher (w32) distils
# into the assistant (w16) by PKD (as pkd_frcnn.py). Stage 2: pkd_assistant_to_student_shapes.py;
# both as one command:
#   python tools/chain.py configs/ta_chain/pkd_teacher_to_assistant_shapes.py \
#       configs/ta_chain/pkd_assistant_to_student_shapes.py --work-dir work_dirs/ta_chain
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['../frcnn_r18w16_assistant_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../frcnn_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/frcnn_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[dict(type='mmkd.PKD', student='neck', teacher='neck',
                     strides=[4, 8, 16, 32, 64], loss_weight=6.0)])
