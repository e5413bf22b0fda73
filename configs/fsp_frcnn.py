# FSP (Yim et al., CVPR 2017): per ResNet-18 stage of the shapes pair, the flow matrix between
# its first block and its output (one spatial size), the student's layers taken to the teacher's
# width by 1x1 convs. The paper's lambda 1 weighs a first stage trained on the FSP loss alone;
# as one term of the detector's step it is ~1700x the detection losses at the start
# (tools/inspect_distill.py with the trained shapes teacher), so 5e-4 (about 1x) here.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.FSP',
         student_pairs=[['backbone.layer1.0', 'backbone.layer1'],
                        ['backbone.layer2.0', 'backbone.layer2'],
                        ['backbone.layer3.0', 'backbone.layer3'],
                        ['backbone.layer4.0', 'backbone.layer4']],
         loss_weight=5e-4),
])
