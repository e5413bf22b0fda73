# Hint learning with KD (Chen et al., NeurIPS 2017) on COCO: Faster R-CNN R101 teacher -> R50
# student, 1x. The paper's weights (../_base_/distill/hint_kd_chen2017.py): hint on the FPN
# outputs with an adaptation layer (gamma 0.5), soft-label KD on RPN and RoI head (T 1, mu 0.5,
# background weight 1.5), teacher-bounded regression (nu 0.5, margin 0).
#   bash tools/dist_train.sh configs/coco/hintkd_faster-rcnn_r101-r50_fpn_1x_coco.py 8
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', './_base_/mmdet_teachers.py', '../_base_/distill/hint_kd_chen2017.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.faster_rcnn_r101_ms3x}},
    distillers={{_base_.hint_kd_distillers}})
