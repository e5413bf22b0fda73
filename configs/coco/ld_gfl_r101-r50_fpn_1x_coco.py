# LD on COCO: GFL R101 teacher -> GFL R50 student (mmdet's gfl_r50_fpn_1x_coco), the box-edge
# distributions on the student's positive priors at T 10, weight 0.25: mmdet's
# configs/ld/ld_r50-gflv1-r101_fpn_1x_coco.py (41.0 box AP in its metafile), 1x schedule.
# Teacher: mmdet's R101 2x multi-scale GFL (box AP 44.7), the one mmdet's LD configs load.
#   bash tools/dist_train.sh configs/coco/ld_gfl_r101-r50_fpn_1x_coco.py 8
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py', './_base_/mmdet_teachers.py']

model = dict(
    _delete_=True,
    type='mmkd.DistillDetector',
    student={{_base_.model}},
    teacher={{_base_.gfl_r101_ms2x}},
    distillers=[dict(type='mmkd.LD', temperature=10.0, loss_weight=0.25)])
