# CrossKD (Wang et al., CVPR 2024) on the RetinaNet face pair: the student head's maps after its
# only conv go through the teacher's second conv and predictors (reused_index 1; a 1x1 conv
# first, 32 -> 64 channels), and those predictions learn the teacher's: quality focal KD on the
# classes, GIoU on the decoded boxes (the authors' RetinaNet losses, weights 1 and 1).
_base_ = ['./_base_/distill/retinanet_r18w32_to_r18w8_faces.py']

model = dict(distillers=[
    dict(type='mmkd.RetinaCrossKD', reused_index=1, cls_weight=1.0, reg_weight=1.0),
])
