# Logit KD from two face teachers at once (MEAL V2): per anchor, the two teachers' class
# probabilities averaged, then logit KD as in logitkd_retinanet_face.py (T 2). The second
# teacher is the same config trained with another seed:
#   python tools/train.py configs/retinanet_r18w32_teacher_faces.py \
#       --work-dir work_dirs/retinanet_r18w32_teacher_faces_seed1 --cfg-options randomness.seed=1
_base_ = ['./_base_/distill/retinanet_r18w32_to_r18w8_faces.py']

teacher_config = '{{fileDirname}}/retinanet_r18w32_teacher_faces.py'
model = dict(
    teacher=None,
    teachers=[
        dict(config=teacher_config,
             checkpoint='work_dirs/retinanet_r18w32_teacher_faces/epoch_12.pth'),
        dict(config=teacher_config,
             checkpoint='work_dirs/retinanet_r18w32_teacher_faces_seed1/epoch_12.pth'),
    ],
    distillers=[
        dict(type='mmkd.DenseLogitKD', temperature=2.0, loss_weight=1.0, read_teacher='mean'),
    ])
