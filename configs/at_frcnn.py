# Attention transfer (Zagoruyko and Komodakis, ICLR 2017) on the four ResNet-18 stages of the
# shapes pair (strides 4-32; widths 8-64 -> 32-256, no connector: channels are summed away),
# p 2 and beta 1000 as in the paper.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.AttentionTransfer', student='backbone', teacher='backbone', p=2.0,
         loss_weight=1000.0),
])
