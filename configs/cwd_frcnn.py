# CWD (Shu et al., ICCV 2021) on all FPN levels of the shapes pair (student 32 -> teacher 64
# channels through a 1x1 conv), tau 1 and weight 10 as in MMRazor's Faster R-CNN config.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0, loss_weight=10.0),
])
