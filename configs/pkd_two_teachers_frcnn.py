# PKD from two shapes teachers at once (a MEAL V2-style ensemble): their FPN maps averaged level
# by level, then PKD as in pkd_frcnn.py (weight 6). The second teacher is the same config
# trained with another seed:
#   python tools/train.py configs/frcnn_r18w32_teacher_shapes.py \
#       --work-dir work_dirs/frcnn_r18w32_teacher_shapes_seed1 --cfg-options randomness.seed=1
# PKD levels: P2-P6 (strides 4-64), as measured. MMRazor's Faster R-CNN config, whose weight 6
# this takes, distils P2-P5 only; P6 (a max-pool of P5) adds about a fifth to the loss
# (configs/pkd_p2_p5_frcnn.py has MMRazor's levels).
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

teacher_config = '{{fileDirname}}/frcnn_r18w32_teacher_shapes.py'
model = dict(
    teacher=None,
    teachers=[
        dict(config=teacher_config,
             checkpoint='work_dirs/frcnn_r18w32_teacher_shapes/epoch_12.pth'),
        dict(config=teacher_config,
             checkpoint='work_dirs/frcnn_r18w32_teacher_shapes_seed1/epoch_12.pth'),
    ],
    distillers=[
        dict(type='mmkd.PKD', student='neck', teacher='neck',
             strides=[4, 8, 16, 32, 64], loss_weight=6.0,
             read_teacher='mean'),
    ])
