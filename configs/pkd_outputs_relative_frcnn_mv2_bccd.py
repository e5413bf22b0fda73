# The BCCD default with relative weights (PKD 30x, RPN KD 0.92x, RoI-head KD 1.19x the
# detection loss, fixed over the first 50 iterations; PKD on P2-P6) on the BCCD pair.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py', './_base_/distill/pkd_outputs_relative.py']

model = dict(distillers={{_base_.pkd_outputs_relative}})
