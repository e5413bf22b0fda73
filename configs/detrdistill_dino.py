# DETRDistill (Chang et al., ICCV 2023), its three terms, on the shapes DINO pair: the teacher's
# predictions matched to the student's layer by layer (HungarianKD), the neck maps compared under
# the mask of the teacher's best queries (TargetAwareFeatureKD) and the teacher's queries decoded
# by the student and trained on the ground truth by the teacher's assignment
# (QueryPriorAssignmentKD); the authors' weights. The three share the teacher's decoder run.
_base_ = ['./_base_/distill/dino_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.HungarianKD'),
    dict(type='mmkd.TargetAwareFeatureKD'),
    dict(type='mmkd.QueryPriorAssignmentKD'),
])
