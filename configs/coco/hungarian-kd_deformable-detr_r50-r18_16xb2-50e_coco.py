# DETRDistill's Hungarian-matching logits distillation (Chang et al., ICCV 2023) on COCO:
# Deformable DETR R50 teacher -> ResNet-18 student, layer by layer, matching and loss weights
# 1 / 5 / 2 (the authors' code). The paper's pair is R101 -> R50 (44.1 -> 46.6 box AP with all
# three of its terms); mmdet's model zoo has no Deformable DETR R101, so this is the KD-DETR
# recipe's pair (mmdet's R50, box AP 44.3, and the R18 student) and schedule with this distiller.
#   bash tools/dist_train.sh configs/coco/hungarian-kd_deformable-detr_r50-r18_16xb2-50e_coco.py 8
_base_ = ['./kd-detr_deformable-detr_r50-r18_16xb2-50e_coco.py']

model = dict(distillers=[dict(type='mmkd.HungarianKD', layer_by_layer=True, cls_weight=1.0,
                              l1_weight=5.0, giou_weight=2.0)])
