# Faster R-CNN on an ImageNet-pretrained MobileNetV2 for BCCD (3 classes), with the schedule of
# the demo models at half their learning rate (a pretrained backbone). Teacher and student set
# their widths on top of this.
_base_ = [
    './models/faster_rcnn_mv2.py',
    './datasets/bccd_detection.py',
    './schedules/shapes_schedule.py',
    './default_runtime.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
optim_wrapper = dict(optimizer=dict(lr=0.01))
