# ReviewKD (Chen et al., CVPR 2021) on COCO: Faster R-CNN R101 teacher -> ResNet-18 student.
# The paper's setting: FPN outputs P2-P6 paired by stride, loss weight 1.2, the student's 1x
# schedule (12 epochs, 8 GPUs x 2 images, lr 0.02). Teacher: mmdet's R101 3x multi-scale model
# (box AP 41.8; the paper's Detectron2 R101 teacher: 42.04).
#   bash tools/dist_train.sh configs/coco/reviewkd_faster-rcnn_r101-r18_fpn_1x_coco.py 8
_base_ = ['./students/faster-rcnn_r18_fpn_1x_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.faster_rcnn_r101_ms3x}},
    distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.2)])
