# Faster R-CNN on an ImageNet-pretrained MobileNetV2 for the playing-card set (6 classes), as for
# BCCD (frcnn_mv2_bccd.py): the schedule of the demo models at half their learning rate.
_base_ = [
    './models/faster_rcnn_mv2.py',
    './datasets/cards_detection.py',
    './schedules/shapes_schedule.py',
    './default_runtime.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=6)))
optim_wrapper = dict(optimizer=dict(lr=0.01))
