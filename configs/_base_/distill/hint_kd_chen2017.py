# The Chen et al. 2017 recipe as a distiller list, for configs to use as
# model=dict(distillers={{_base_.hint_kd_distillers}}): adapted hint on the FPN (gamma 0.5),
# weighted soft-label KD (T 1, mu 0.5, background weight 1.5) and teacher-bounded regression
# (nu 0.5, margin 0) on RPN and RoI head.
kd = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)
hint_kd_distillers = [
    dict(type='mmkd.FeatureHint', student='neck', teacher='neck', loss_weight=0.5),
    dict(type='mmkd.RPNKD', **kd),
    dict(type='mmkd.RoIHeadKD', **kd),
]
