# ReviewKD plus mask-head KD on COCO: Mask R-CNN R101 teacher -> R50 student (mmdet's
# mask-rcnn_r50_fpn_1x_coco), box and mask mAP. ReviewKD on FPN P2-P6 with the paper's Mask R-CNN
# R101 -> R50 weight 0.8; MaskHeadKD (mmkd's, not in the paper: the teacher's mask head on the
# student's positive RoIs, soft-target BCE) at weight 1.0. Teacher: mmdet's R101 3x multi-scale
# polygon model (box AP 42.7, mask AP 38.5). The ReviewKD-only recipe with MaskHeadKD added.
#   bash tools/dist_train.sh configs/coco/reviewkd-maskkd_mask-rcnn_r101-r50_fpn_1x_coco.py 8
_base_ = ['./reviewkd_mask-rcnn_r101-r50_fpn_1x_coco.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=0.8),
    dict(type='mmkd.MaskHeadKD', loss_weight=1.0, temperature=1.0),
])
