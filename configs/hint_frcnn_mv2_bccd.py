# Chen et al. 2017 on BCCD (recipe in _base_/distill/hint_kd_chen2017.py).
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers={{_base_.hint_kd_distillers}})
