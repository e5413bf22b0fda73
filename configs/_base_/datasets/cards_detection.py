# Playing-card ranks (6 classes, Pascal VOC XML; 237 train / 59 val / 67 test images, mostly
# 378x504), read where it lies, as BCCD (bccd_detection.py): cards/ in the data root
# ($MMKD_DATA_ROOT, else ../shared/data), made from its source repository by
# mmkd.datasets.labelimg_folders (see that folder's README.md). Images are fit into 384x288
# (portrait: 288x384). Only horizontal flips: a card turned upside down is a card.
_base_ = './bccd_detection.py'

voc_root = '{{$MMKD_DATA_ROOT:../shared/data}}/cards/'
ann_dir = 'data/cards/'
classes = ('ace', 'jack', 'king', 'nine', 'queen', 'ten')
image_scale = (384, 288)

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
train_dataloader = dict(dataset=dict(
    ann_file=ann_dir + 'train.json', data_prefix=dict(img=voc_root),
    metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    ann_file=ann_dir + 'val.json', data_prefix=dict(img=voc_root),
    metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(
    ann_file=ann_dir + 'test.json', data_prefix=dict(img=voc_root),
    metainfo=dict(classes=classes), pipeline=test_pipeline))
val_evaluator = dict(ann_file=ann_dir + 'val.json')
test_evaluator = dict(ann_file=ann_dir + 'test.json')
