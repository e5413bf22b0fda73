# ReviewKD, Mask R-CNN R101 -> R50 (the authors' ReviewKD-R50-R101-Mask):
# reviewkd_mask-rcnn_r101-r50_fpn_1x_coco.py trained at the authors' scales, a short side of
# 640-800 px per image (./_base_/ms-640-800_train.py); the rest is the 1x recipe's.
#   bash tools/dist_train.sh configs/coco/reviewkd_mask-rcnn_r101-r50_fpn_ms-1x_coco.py 8
_base_ = ['./reviewkd_mask-rcnn_r101-r50_fpn_1x_coco.py', './_base_/ms-640-800_train.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.ms_640_800_mask_train_pipeline}}))
