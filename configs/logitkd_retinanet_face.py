# Logit KD (Hinton et al., 2015) on every anchor of the RetinaNet face head (sigmoid classes:
# each class a softened yes/no distribution), temperature 2.
_base_ = ['./_base_/distill/retinanet_r18w32_to_r18w8_faces.py']

model = dict(distillers=[
    dict(type='mmkd.DenseLogitKD', temperature=2.0, loss_weight=1.0),
])
