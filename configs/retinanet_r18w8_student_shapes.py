# A one-stage student for the two-stage shapes teacher (frcnn_r18w32_teacher_shapes.py): RetinaNet
# as mmdet ships it (FPN P3-P7, strides 8-128), the student's ResNet-18 at width 8 with a
# 32-channel FPN and a two-conv head; anchors from 16 px for the set's 12-48 px objects. The
# teacher's FPN has strides 4-64, so a distiller pairs strides 8, 16, 32 and 64. Trained alone it
# is the no-KD baseline of reviewkd_frcnn_to_retinanet.py.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_schedule.py',
    './_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=18, base_channels=8, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=32),
    bbox_head=dict(num_classes=8, in_channels=32, feat_channels=32, stacked_convs=2,
                   anchor_generator=dict(octave_base_scale=2)),
    test_cfg=dict(nms_pre=500, max_per_img=50))
optim_wrapper = dict(optimizer=dict(lr=0.02))
