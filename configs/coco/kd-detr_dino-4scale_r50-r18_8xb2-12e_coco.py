# KD-DETR (Wang et al., CVPR 2024) on COCO: DINO 4-scale R50 teacher -> ResNet-18 student (44.0
# -> 48.4 box AP, as a summary of the paper quotes it). 300 general points (random reference
# boxes, new each step) and the teacher's 900 query boxes (its encoder's proposals) as specific
# points; T 10, weights 1 / 5 / 2.
# The student's 12-epoch schedule (8 GPUs x 2 images, AdamW lr 1e-4). Teacher: mmdet's DINO
# 4-scale R50 12e (box AP 49.0).
#   bash tools/dist_train.sh configs/coco/kd-detr_dino-4scale_r50-r18_8xb2-12e_coco.py 8
_base_ = ['./students/dino-4scale_r18_8xb2-12e_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.dino_4scale_r50_12e}},
    distillers=[dict(type='mmkd.KDDETR', num_general=300, temperature=10.0, cls_weight=1.0,
                     l1_weight=5.0, giou_weight=2.0)])
auto_scale_lr = dict(enable=False, base_batch_size=16)
