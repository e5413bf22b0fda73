# Chen et al. 2017: adapted hint on the FPN (gamma 0.5), weighted soft-label KD (T 1, mu 0.5,
# background weight 1.5) and teacher-bounded regression (nu 0.5, margin 0) on RPN and RoI head.
# Ablate from the command line, e.g. --cfg-options model.distillers.2.nu=0
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

kd = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)
model = dict(distillers=[
    dict(type='mmkd.FeatureHint', student='neck', teacher='neck', loss_weight=0.5),
    dict(type='mmkd.RPNKD', **kd),
    dict(type='mmkd.RoIHeadKD', **kd),
])
