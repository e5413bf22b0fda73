# Chen et al. 2017 on the shapes set (recipe in _base_/distill/hint_kd_chen2017.py). Ablate from
# the command line, e.g. --cfg-options model.distillers.2.nu=0
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py',
          './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers={{_base_.hint_kd_distillers}})
