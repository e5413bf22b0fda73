# BCCD blood-cell detection (3 classes, Pascal VOC XML; 205 train / 87 val / 72 test images of
# 640x480), read where it lies: data_prefix.img is the VOC root. mmkd.VOCCocoDataset converts
# each split to COCO JSON on first use (ann_file; base name = split) and logs what it dropped.
# Images are halved to 320x240.
# The VOC root is bccd/ in the data root: $MMKD_DATA_ROOT when set, else ../shared/data (relative
# to the directory you run from; see mmkd/datasets/real_data.py). voc_root is copied into the
# dataloaders when this file is parsed, so --cfg-options voc_root=... changes nothing: point one
# run at another copy with MMKD_DATA_ROOT=DIR, or with the keys that tools/demo.py --data-root
# sets, {train,val,test}_dataloader.dataset.data_prefix.img=VOC_ROOT/.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

voc_root = '{{$MMKD_DATA_ROOT:../shared/data}}/bccd/'
ann_dir = 'data/bccd/'
classes = ('Platelets', 'RBC', 'WBC')
image_scale = (320, 240)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8, num_workers=1,
    batch_sampler=None,
    dataset=dict(type='mmkd.VOCCocoDataset', data_root='', ann_file=ann_dir + 'train.json',
                 data_prefix=dict(img=voc_root), metainfo=dict(classes=classes),
                 filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(type='mmkd.VOCCocoDataset', data_root='', ann_file=ann_dir + 'val.json',
                 data_prefix=dict(img=voc_root), metainfo=dict(classes=classes),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(type='mmkd.VOCCocoDataset', data_root='', ann_file=ann_dir + 'test.json',
                 data_prefix=dict(img=voc_root), metainfo=dict(classes=classes),
                 test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(ann_file=ann_dir + 'val.json')
test_evaluator = dict(ann_file=ann_dir + 'test.json')
