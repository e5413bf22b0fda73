# Born-again networks (Furlanello et al., ICML 2018) on the shapes set: a student of the
# teacher's own architecture (Faster R-CNN R18 w32) learns from it by its outputs: soft labels
# and teacher-bounded regression on the RPN and the RoI head (hint_frcnn.py's output terms, no
# hint). Generations, each teaching the next, as one command:
#   python tools/chain.py configs/born_again_frcnn.py configs/born_again_frcnn.py \
#       configs/born_again_frcnn.py --work-dir work_dirs/born_again
_base_ = ['./frcnn_r18w32_teacher_shapes.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/frcnn_r18w32_teacher_shapes.py',
                 checkpoint='work_dirs/frcnn_r18w32_teacher_shapes/epoch_12.pth'),
    distillers=[{{_base_.rpn_kd}}, {{_base_.roi_head_kd}}])
