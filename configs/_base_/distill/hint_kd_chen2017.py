# The Chen et al. 2017 recipe as a distiller list, for configs to use as
# model=dict(distillers={{_base_.hint_kd_distillers}}): adapted hint on the FPN (gamma 0.5),
# weighted soft-label KD (T 1, mu 0.5, background weight 1.5) and teacher-bounded regression
# (nu 0.5, margin 0) on RPN and RoI head. Its output terms alone: {{_base_.rpn_kd}} and
# {{_base_.roi_head_kd}} (at twice the weight: {{_base_.rpn_kd_x2}}, {{_base_.roi_head_kd_x2}}).
kd = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)
rpn_kd = dict(type='mmkd.RPNKD', **kd)
roi_head_kd = dict(type='mmkd.RoIHeadKD', **kd)
# the output terms at twice their weight: the soft labels weigh (1 - mu) * 2 = 1 against the
# hard labels' mu = 0.5
rpn_kd_x2 = dict(rpn_kd, loss_weight=2.0)
roi_head_kd_x2 = dict(roi_head_kd, loss_weight=2.0)
hint_kd_distillers = [
    dict(type='mmkd.FeatureHint', student='neck', teacher='neck', loss_weight=0.5),
    rpn_kd,
    roi_head_kd,
]
