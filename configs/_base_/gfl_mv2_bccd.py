# GFL on an ImageNet-pretrained MobileNetV2 for BCCD (3 classes), with frcnn_mv2_bccd.py's data,
# schedule and learning rate. Teacher and student set their widths on top of this.
_base_ = [
    './models/gfl_mv2.py',
    './datasets/bccd_detection.py',
    './schedules/shapes_schedule.py',
    './default_runtime.py',
]

model = dict(bbox_head=dict(num_classes=3))
optim_wrapper = dict(optimizer=dict(lr=0.01))
