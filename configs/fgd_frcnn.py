# FGD (Yang et al., CVPR 2022) on the shapes pair: FPN strides 4-32 (P2-P5, as the authors'
# Faster R-CNN configs), temperature 0.5 and their Faster R-CNN weights.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.FGD', student='neck', teacher='neck', strides=[4, 8, 16, 32],
         temperature=0.5, alpha=5e-5, beta=2.5e-5, gamma=5e-5, lambda_=5e-7),
])
