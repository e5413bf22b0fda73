# Logit KD (Hinton et al., 2015) on the shapes GFL pair: every prior's class scores (GFL's
# sigmoid quality-focal classification, each class a softened yes/no distribution) learn the
# teacher's, temperature 2, as logitkd_retinanet_face.py on the face set.
_base_ = ['./_base_/distill/gfl_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.DenseLogitKD', temperature=2.0, loss_weight=1.0),
])
