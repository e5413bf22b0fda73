# PKD from each of two shapes teachers in turn, a loss per teacher (teacher0.loss_pkd,
# teacher1.loss_pkd; weight 3 each, pkd_frcnn.py's 6 in all). The alternative to
# pkd_two_teachers_frcnn.py, which averages the two teachers' FPN maps: two teachers trained
# apart need not give a channel the same meaning, and the demo measured the average below PKD
# from one teacher. Teachers as in pkd_two_teachers_frcnn.py.
_base_ = ['./pkd_two_teachers_frcnn.py']

model = dict(distillers=[
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=3.0, read_teacher=0),
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=3.0, read_teacher=1),
])
