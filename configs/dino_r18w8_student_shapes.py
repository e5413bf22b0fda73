# Student: the teacher's DINO on a ResNet-18 of width 8 (the teacher's backbone at a quarter of
# its width; the same transformer). Trained alone it is the no-KD baseline of kd_detr_dino.py.
_base_ = ['./dino_r18w32_teacher_shapes.py']

model = dict(backbone=dict(base_channels=8), neck=dict(in_channels=[16, 32, 64]))
