# PKD from each of two shapes teachers in turn, a loss per teacher (teacher0.loss_pkd,
# teacher1.loss_pkd; weight 3 each, pkd_frcnn.py's 6 in all). The alternative to
# pkd_two_teachers_frcnn.py, which averages the two teachers' FPN maps: two teachers trained
# apart need not give a channel the same meaning, and the demo measured the average below PKD
# from one teacher. Teachers as in pkd_two_teachers_frcnn.py.
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./pkd_two_teachers_frcnn.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=3.0, read_teacher=0),
    dict(type='mmkd.PKD', student='neck', teacher='neck',
         strides=[4, 8, 16, 32, 64], loss_weight=3.0, read_teacher=1),
])
