# Deep mutual learning (Zhang et al., CVPR 2018) on the shapes set: two RetinaNet students of the
# same small size (retinanet_r18w8_student_shapes.py, the student of the shapes_retinanet demo)
# trained together from different initial weights, each learning every anchor's class
# probabilities from the other (logit KD at T 1, DML's KL between the peers' posteriors); no
# pretrained teacher. Peer 0 predicts and is the one validated.
_base_ = ['./retinanet_r18w8_student_shapes.py']

model = dict(
    _delete_=True,
    type='mmkd.MutualDetector',
    peers=[{{_base_.model}}, {{_base_.model}}],
    distillers=[dict(type='mmkd.DenseLogitKD', temperature=1.0, loss_weight=1.0)])
