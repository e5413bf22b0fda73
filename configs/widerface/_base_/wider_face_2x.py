# WIDER FACE (http://shuoyang1213.me/WIDERFACE/; 12,880 train / 3,226 val images, one class) as
# COCO JSON written by mmkd's converter, with mmdet's 1333x800 multi-scale detection pipeline and
# a 2x schedule (24 epochs, 8 GPUs x 2 images). Evaluation: COCO box mAP over all faces, with
# AP_s / AP_m / AP_l as AP by face size (under 32^2, 32^2-96^2, over 96^2 px); WIDER's own
# easy / medium / hard protocol is not reproduced. Convert once (folders as the set unpacks):
#   python -m mmkd.datasets.face_converters wider \
#       data/WIDERFace/wider_face_split/wider_face_train_bbx_gt.txt \
#       data/WIDERFace/WIDER_train/images data/WIDERFace/annotations/wider_face_train.json
# and the same with "val" for the validation split.
_base_ = ['mmdet::_base_/datasets/coco_detection.py', 'mmdet::_base_/schedules/schedule_2x.py',
          'mmdet::_base_/default_runtime.py']

data_root = 'data/WIDERFace/'
metainfo = dict(classes=('face',), palette=[(220, 20, 60)])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/wider_face_train.json',
    data_prefix=dict(img='WIDER_train/images/'), filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/wider_face_val.json',
    data_prefix=dict(img='WIDER_val/images/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/wider_face_val.json')
test_evaluator = val_evaluator
