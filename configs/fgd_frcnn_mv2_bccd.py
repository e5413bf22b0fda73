# FGD on BCCD: FPN strides 4-32 (P2-P5), temperature 0.5 and the authors' Faster R-CNN weights.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.FGD', student='neck', teacher='neck', strides=[4, 8, 16, 32],
         temperature=0.5, alpha=5e-5, beta=2.5e-5, gamma=5e-5, lambda_=5e-7),
])
