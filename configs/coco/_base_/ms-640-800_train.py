# Multi-scale training as ReviewKD's detection configs have it (dvlab-research/ReviewKD,
# Detection/configs/Base-Distillation.yaml, Detectron2's INPUT.MIN_SIZE_TRAIN (640, 672, ..., 800)
# sampled by "choice", longer side at most 1333): one of six short sides per image. This is mmdet's
# RandomChoiceResize of faster-rcnn_r50-caffe_fpn_ms-1x_coco.py; testing stays at (1333, 800).
# A *_ms-1x_coco.py recipe takes ms_640_800_train_pipeline (or its mask form) in place of its 1x
# recipe's train pipeline: the same steps with this resize.
ms_640_800_resize = dict(
    type='RandomChoiceResize',
    scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
    keep_ratio=True)
ms_640_800_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    ms_640_800_resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
ms_640_800_mask_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    ms_640_800_resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
