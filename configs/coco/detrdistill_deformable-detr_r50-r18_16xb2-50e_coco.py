# DETRDistill (Chang et al., ICCV 2023), its three terms, on COCO: Hungarian-matched logits
# (layer by layer, weights 1 / 5 / 2), target-aware feature distillation (the teacher's 100 best
# query predictions per layer mask its neck maps; weight 1) and query-prior assignment (the
# teacher's queries decoded by the student, trained on the ground truth by the teacher's
# assignment; the head's own loss weights), the weights of the authors' code. The paper's pair is
# R101 -> R50 (44.1 -> 46.6 box AP); mmdet's model zoo has no Deformable DETR R101, so this is the
# Hungarian-matched KD recipe's pair (mmdet's R50, box AP 44.3, and the R18 student) and schedule.
#   bash tools/dist_train.sh configs/coco/detrdistill_deformable-detr_r50-r18_16xb2-50e_coco.py 8
_base_ = ['./hungarian-kd_deformable-detr_r50-r18_16xb2-50e_coco.py']

model = dict(distillers=[
    dict(type='mmkd.HungarianKD', layer_by_layer=True, cls_weight=1.0, l1_weight=5.0,
         giou_weight=2.0),
    dict(type='mmkd.TargetAwareFeatureKD', num_selected=100, loss_weight=1.0),
    dict(type='mmkd.QueryPriorAssignmentKD', assignment='teacher', loss_weight=1.0),
])
