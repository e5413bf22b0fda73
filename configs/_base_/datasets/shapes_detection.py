# The embedded demo set (mmkd.datasets.shapes): 160 px images, 8 classes, boxes.
# mmkd.ShapesDataset writes it into data/shapes/ on first use.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/shapes/'
image_scale = (160, 160)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
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
    dataset=dict(type='mmkd.ShapesDataset', data_root=data_root, ann_file='annotations/train.json',
                 num_images=600,
                 data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=True, min_size=4),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(type='mmkd.ShapesDataset', data_root=data_root, ann_file='annotations/val.json',
                 num_images=150,
                 data_prefix=dict(img=''), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
