# Classification-map KD with online hard mining (Jin et al. 2019) on the RetinaNet face head:
# the reference rule ('seed'; 'adaptive' mines where student and teacher disagree), alpha 50.
_base_ = ['./_base_/distill/retinanet_r18w32_to_r18w8_faces.py']

model = dict(distillers=[
    dict(type='mmkd.ClsMapKD', mode='seed', alpha=50.0, scale=16.2, beta=6.4),
])
