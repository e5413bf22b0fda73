# ReviewKD, RetinaNet R101 -> R50 (the authors' ReviewKD-RT50-RT101):
# reviewkd_retinanet_r101-r50_fpn_1x_coco.py trained at the authors' scales, a short side of
# 640-800 px per image (./_base_/ms-640-800_train.py), as the paper's figure was obtained; the
# rest (model, teacher, loss weight, 1x schedule, testing at 1333x800) is the 1x recipe's.
#   bash tools/dist_train.sh configs/coco/reviewkd_retinanet_r101-r50_fpn_ms-1x_coco.py 8
_base_ = ['./reviewkd_retinanet_r101-r50_fpn_1x_coco.py', './_base_/ms-640-800_train.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.ms_640_800_train_pipeline}}))
