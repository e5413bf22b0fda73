# ReviewKD on COCO: RetinaNet R101 teacher -> R50 student (mmdet's retinanet_r50_fpn_1x_coco),
# FPN P3-P7, loss weight 1.0 (ReviewKD's RetinaNet R101 -> R50 setting), 1x schedule. Teacher:
# mmdet's R101 3x multi-scale RetinaNet (box AP 41.0).
#   bash tools/dist_train.sh configs/coco/reviewkd_retinanet_r101-r50_fpn_1x_coco.py 8
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.retinanet_r101_ms3x}},
    distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.0)])
