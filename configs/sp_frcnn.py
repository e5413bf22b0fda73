# Similarity-preserving KD (Tung and Mori, ICCV 2019) between the ground-truth objects of each
# batch of the shapes pair: each box RoI-aligned (7x7) from its FPN level in each model; the
# objects' similarity matrix. The paper's gamma 3000 (a batch of 128 images) makes the loss ~25x
# the detection losses here at the start (tools/inspect_distill.py with the trained shapes
# teacher: a few dozen objects per batch), so 120 (about 1x).
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.SimilarityPreserving', student='neck', teacher='neck', loss_weight=120.0),
])
