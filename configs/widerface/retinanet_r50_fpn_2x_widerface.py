# Face teacher: mmdet's RetinaNet R50 (torchvision ImageNet weights) for one class, with the
# FPN on P2-P6 (strides 4-64) and square anchors from 16 px, RetinaFace's layout for small faces.
# Train it first:  bash tools/dist_train.sh configs/widerface/retinanet_r50_fpn_2x_widerface.py 8
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', './_base_/wider_face_2x.py']

face_anchors = dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                    ratios=[1.0], strides=[4, 8, 16, 32, 64])
model = dict(
    neck=dict(start_level=0),
    bbox_head=dict(num_classes=1, anchor_generator=face_anchors),
    test_cfg=dict(max_per_img=750))
optim_wrapper = dict(optimizer=dict(lr=0.01))   # mmdet's RetinaNet rate at 16 images per step
