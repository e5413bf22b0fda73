# CrossKD with PKD on the FPN (the CrossKD paper's best GFL row combines the two) on the BCCD GFL
# pair: crosskd_gfl_mv2_bccd.py plus PKD at MMRazor's weight 6 (pkd_frcnn_mv2_bccd.py's).
_base_ = ['./crosskd_gfl_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.CrossKD', reused_index=1, cls_weight=1.0, reg_weight=4.0),
    dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0),
])
