# ReviewKD on the neck plus mask-head KD: the teacher's mask head on the student's positive
# RoIs, soft-target BCE on each RoI's GT-class mask.
_base_ = ['./reviewkd_maskrcnn.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck', loss_weight=1.5),
    dict(type='mmkd.MaskHeadKD', loss_weight=1.0, temperature=1.0),
])
