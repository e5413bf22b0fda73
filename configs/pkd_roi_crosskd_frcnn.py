# pkd_outputs_frcnn.py with CrossKD's cross-head scheme in place of Chen et al.'s RoI-head
# terms: the student's RoI features run through the teacher's box head and those predictions
# learn the teacher's (mmkd.RoICrossKD, weights 1), so the student's own box head trains on the
# ground truth alone. PKD on the FPN and the RPN terms as there.
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py',
          './_base_/distill/hint_kd_chen2017.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=6.0),
    {{_base_.rpn_kd}},
    dict(type='mmkd.RoICrossKD', cls_weight=1.0, reg_weight=1.0, temperature=1.0),
])
