# DETRDistill's Hungarian-matching logits distillation (Chang et al., ICCV 2023) on the shapes
# DINO pair: each student decoder layer's predictions matched one to one to the same layer of the
# teacher (cost: class BCE with the teacher's probabilities + 5 L1 + 2 GIoU) and trained on them,
# the authors' weights 1, 5, 2.
_base_ = ['./_base_/distill/dino_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.HungarianKD'),
])
