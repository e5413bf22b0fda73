# ReviewKD on COCO: Faster R-CNN R101 teacher -> R50 student (mmdet's faster-rcnn_r50_fpn_1x_coco),
# FPN P2-P6, loss weight 1.0 (the paper's R101 -> R50 setting), 1x schedule.
#   bash tools/dist_train.sh configs/coco/reviewkd_faster-rcnn_r101-r50_fpn_1x_coco.py 8
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.faster_rcnn_r101_ms3x}},
    distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.0)])
