# Teacher-assistant chain (Mirzadeh et al., AAAI 2020), stage 1: the shapes teacher (w32) distils
# into the assistant (w16) by PKD (as pkd_frcnn.py). Stage 2: pkd_assistant_to_student_shapes.py;
# both as one command:
#   python tools/chain.py configs/ta_chain/pkd_teacher_to_assistant_shapes.py \
#       configs/ta_chain/pkd_assistant_to_student_shapes.py --work-dir work_dirs/ta_chain
_base_ = ['../frcnn_r18w16_assistant_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/../frcnn_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/frcnn_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0)])
