# KD-DETR and PKD together on the shapes DINO pair: the decoder's answers and the neck's maps
# (strides 8-64).
_base_ = ['./_base_/distill/dino_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.KDDETR', num_general=50),
    dict(type='mmkd.PKD', student='neck', teacher='neck', strides=[8, 16, 32, 64],
         loss_weight=6.0),
])
