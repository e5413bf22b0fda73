# ReviewKD on COCO instance segmentation: Mask R-CNN R101 teacher -> R50 student (mmdet's
# mask-rcnn_r50_fpn_1x_coco), the authors' ReviewKD-R50-R101-Mask setting: ReviewKD on FPN P2-P6
# at weight 0.8 and nothing on the mask head; box and mask mAP. Teacher: mmdet's R101 3x
# multi-scale polygon model (box AP 42.7, mask AP 38.5). With mmkd's mask-head KD on top:
# reviewkd-maskkd_mask-rcnn_r101-r50_fpn_1x_coco.py; at the authors' training scales:
# reviewkd_mask-rcnn_r101-r50_fpn_ms-1x_coco.py.
#   bash tools/dist_train.sh configs/coco/reviewkd_mask-rcnn_r101-r50_fpn_1x_coco.py 8
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.mask_rcnn_r101_ms3x}},
    distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=0.8)])
