# Classification-map KD with online hard mining (Jin et al., ICB 2019) on WIDER FACE: the
# RetinaNet R50 face teacher (retinanet_r50_fpn_2x_widerface.py, trained first) -> the MobileNetV2
# student, on every anchor of the shared P2-P6 layout. The paper's rule ('seed': the teacher's
# face score p is mimicked where p > 16.2 |p - 0.5|^6.4), weight alpha 50.
#   bash tools/dist_train.sh configs/widerface/clsmapkd_retinanet_r50-mobilenetv2_fpn_2x_widerface.py 8
_base_ = ['./retinanet_mobilenetv2_fpn_2x_widerface.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher=dict(config='{{fileDirname}}/retinanet_r50_fpn_2x_widerface.py',
                 checkpoint='work_dirs/retinanet_r50_fpn_2x_widerface/epoch_24.pth'),
    distillers=[dict(type='mmkd.ClsMapKD', mode='seed', alpha=50.0, scale=16.2, beta=6.4)])
