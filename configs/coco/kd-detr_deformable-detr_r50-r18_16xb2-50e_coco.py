# KD-DETR (Wang et al., CVPR 2024) on COCO: Deformable DETR R50 teacher -> ResNet-18 student
# (40.1 -> 43.7 box AP, as a summary of the paper quotes it). 300 general points (query vectors
# drawn from N(0, 1), new each step) and the teacher's 300 queries as specific points; T 10,
# weights 1 / 5 / 2. The student's
# 50-epoch schedule (16 GPUs x 2 images, AdamW lr 2e-4). Teacher: mmdet's Deformable DETR R50
# (box AP 44.3).
#   bash tools/dist_train.sh configs/coco/kd-detr_deformable-detr_r50-r18_16xb2-50e_coco.py 8
_base_ = ['./students/deformable-detr_r18_16xb2-50e_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.deformable_detr_r50}},
    distillers=[dict(type='mmkd.KDDETR', num_general=300, temperature=10.0, cls_weight=1.0,
                     l1_weight=5.0, giou_weight=2.0)])
auto_scale_lr = dict(enable=False, base_batch_size=32)
