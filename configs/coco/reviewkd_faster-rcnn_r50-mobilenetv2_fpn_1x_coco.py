# ReviewKD on COCO: Faster R-CNN R50 teacher -> MobileNetV2 student, FPN P2-P6, loss weight 2.0
# (the paper's R50 -> MobileNetV2 setting), 1x schedule. Teacher: mmdet's R50 3x multi-scale
# model (box AP 40.3; the paper's: 40.22).
#   bash tools/dist_train.sh configs/coco/reviewkd_faster-rcnn_r50-mobilenetv2_fpn_1x_coco.py 8
_base_ = ['./students/faster-rcnn_mobilenetv2_fpn_1x_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.faster_rcnn_r50_ms3x}},
    distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=2.0)])
