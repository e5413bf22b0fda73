# Deep mutual learning (Zhang et al., CVPR 2018) on the face set: two RetinaNet students of the
# same small size (retinanet_r18w8_student_faces.py) trained together from different initial
# weights, each learning every anchor's class probabilities from the other (logit KD at T 1, as
# DML's KL between the peers' posteriors); no pretrained teacher. Peer 0 predicts; either one
# exports alone: python tools/export_student.py CONFIG CHECKPOINT OUT_DIR --peer 1
_base_ = ['./retinanet_r18w8_student_faces.py']

model = dict(
    _delete_=True,
    type='mmkd.MutualDetector',
    peers=[{{_base_.model}}, {{_base_.model}}],
    distillers=[dict(type='mmkd.DenseLogitKD', temperature=1.0, loss_weight=1.0)])
