# FGD on BCCD: FPN strides 4-32 (P2-P5), temperature 0.5 and the authors' Faster R-CNN weights.
# The authors' two other settings, off here (the measured runs are without them): the student's
# neck and heads start from the teacher's weights (init_student=True in their configs), and
# gradients are clipped at norm 35 (this schedule clips at 10). To switch them on:
#   --cfg-options model.init_student=True optim_wrapper.clip_grad.max_norm=35
# (in a config: model=dict(init_student=True),
# optim_wrapper=dict(clip_grad=dict(max_norm=35, norm_type=2))). init_student=True copies every
# module but the backbone and needs them of the same shapes in both models, as in the authors'
# pairs (256-channel FPNs both): on this pair (student FPN 32 channels, teacher 64) it stops at
# build, naming the shapes; a list, e.g. init_student=['roi_head'], copies those modules only.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.FGD', student='neck', teacher='neck', strides=[4, 8, 16, 32],
         temperature=0.5, alpha=5e-5, beta=2.5e-5, gamma=5e-5, lambda_=5e-7),
])
