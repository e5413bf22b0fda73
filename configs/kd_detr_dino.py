# KD-DETR (Wang et al., CVPR 2024) on the shapes DINO pair: both decoders answer 50 random boxes
# (new each step) and the teacher's own 50 queries; each student decoder layer learns the
# teacher's last layer's classes (KL, T 10) and boxes (L1 x5, GIoU x2), weighted by the teacher's
# confidence: the authors' settings.
_base_ = ['./_base_/distill/dino_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.KDDETR', num_general=50),
])
