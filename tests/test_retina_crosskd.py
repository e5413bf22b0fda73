"""CrossKD on RetinaNet heads (the authors' CrossKDRetinaNet): the box term against GIoU written
out here, a student equal to its teacher has nothing to learn, and the face config trains."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmengine.config import Config

from conftest import CONFIGS, save_fresh_checkpoint
from mmkd.models.distillers import RetinaCrossKD
from mmkd.models.losses import decoded_box_kd
from mmkd.registry import MODELS
from test_cls_map_kd import FACE_TEACHER
from test_distill_detector import fake_batch


def decode_by_hand(anchor, delta):
    """R-CNN's box deltas (means 0, stds 1): centre moved by (dx w, dy h), size scaled by
    (exp dw, exp dh); (x1, y1, x2, y2)."""
    w, h = anchor[2] - anchor[0], anchor[3] - anchor[1]
    cx, cy = anchor[0] + w / 2 + delta[0] * w, anchor[1] + h / 2 + delta[1] * h
    w, h = w * np.exp(delta[2]), h * np.exp(delta[3])
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def giou_by_hand(a, b):
    """Rezatofighi et al. 2019: IoU - |C minus (A u B)| / |C|, C the smallest enclosing box."""
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = area(a) + area(b) - inter
    enclosing = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (enclosing - union) / enclosing


def test_decoded_box_kd_is_the_weighted_giou_of_the_decoded_boxes():
    torch.manual_seed(0)
    corners = torch.rand(6, 2) * 50
    anchors = torch.cat([corners, corners + 10 + torch.rand(6, 2) * 30], dim=1)
    student, teacher = torch.randn(6, 4) * 0.3, torch.randn(6, 4) * 0.3
    weight = torch.tensor([0.9, 0.0, 0.5, 1.0, 0.2, 0.7])
    loss = decoded_box_kd(student, teacher, anchors, weight, DeltaXYWHBBoxCoder(), 4.0)
    a, s, t = (x.double().numpy() for x in (anchors, student, teacher))
    expected = sum(w * (1 - giou_by_hand(decode_by_hand(a[m], s[m]), decode_by_hand(a[m], t[m])))
                   for m, w in enumerate(weight.tolist())) / 4.0
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    student.requires_grad_(), teacher.requires_grad_()
    decoded_box_kd(student, teacher, anchors, weight, DeltaXYWHBBoxCoder(), 4.0).backward()
    assert student.grad[weight > 0].abs().sum(dim=1).min() > 0
    assert teacher.grad is None                                # the teacher is a target


def test_retina_crosskd_losses_are_the_authors_on_every_level():
    """Given the cross head's and the teacher's maps (two levels, two images, two anchors a
    location, two classes; the channels anchor-major, the priors ordered (y, x, anchor) as
    mmdet's), the class term is ``cls_weight sum_{m,c} w_m BCE(x_mc, sigma(t_mc)) |sigma(x_mc) -
    sigma(t_mc)|`` and the box term ``reg_weight sum_m r_m (1 - GIoU)`` of the boxes decoded at
    the image's anchors, ``r_m = sigma(max_c t_mc)`` and 0 where ``w_m = 0``, both over all
    levels divided by the targets' avg_factor (3 here: neither the priors nor the weights'
    sum)."""
    torch.manual_seed(0)
    sizes, num_classes, num_anchors, avg_factor = ((2, 2), (1, 1)), 2, 2, 3
    distiller = RetinaCrossKD(reused_index=1, cls_weight=1.5, reg_weight=2.0)
    distiller.num_classes, distiller.bbox_coder = num_classes, DeltaXYWHBBoxCoder()
    maps = lambda width: [torch.randn(2, width, h, w) for h, w in sizes]  # noqa: E731
    cross_cls, cross_reg, teacher_cls, teacher_reg = maps(4), maps(8), maps(4), maps(8)
    cross_reg = [m * 0.3 for m in cross_reg]
    teacher_reg = [m * 0.3 for m in teacher_reg]
    weights = [torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0],
                             [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]]),
               torch.tensor([[1.0, 0.0], [0.0, 1.0]])]
    anchor_list = []
    for _ in range(2):      # per image, per level: (H * W * A, 4), ordered (y, x, anchor)
        corners = [torch.rand(h * w * num_anchors, 2) * 40 for h, w in sizes]
        anchor_list.append([torch.cat([c, c + 8 + torch.rand_like(c) * 20], 1) for c in corners])
    distiller.cross_head = lambda *_: list(zip(cross_cls, cross_reg))
    losses = distiller.loss(
        dict(targets=dict(result=(None, weights, None, None, avg_factor),
                          inputs=dict(anchor_list=anchor_list))),
        dict(cls_scores=teacher_cls, bbox_preds=teacher_reg))

    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    cls_kd = box_kd = 0.0
    for level, (h, w) in enumerate(sizes):
        for n in range(2):
            for y in range(h):
                for x, a in np.ndindex(w, num_anchors):
                    m = (y * w + x) * num_anchors + a
                    weight = weights[level][n, m].item()
                    classes, deltas = slice(a * 2, a * 2 + 2), slice(a * 4, a * 4 + 4)
                    s = cross_cls[level][n, classes, y, x].double().numpy()
                    t = teacher_cls[level][n, classes, y, x].double().numpy()
                    q = sigmoid(t)
                    bce = -(q * np.log(sigmoid(s)) + (1 - q) * np.log(1 - sigmoid(s)))
                    cls_kd += weight * (bce * np.abs(sigmoid(s) - q)).sum()
                    anchor = anchor_list[n][level][m].double().numpy()
                    boxes = [decode_by_hand(anchor, d[level][n, deltas, y, x].double().numpy())
                             for d in (cross_reg, teacher_reg)]
                    confidence = sigmoid(t.max()) if weight > 0 else 0.0
                    box_kd += confidence * (1 - giou_by_hand(*boxes))
    assert losses['loss_crosskd_cls'].item() == pytest.approx(1.5 * cls_kd / 3, rel=1e-4)
    assert losses['loss_crosskd_reg'].item() == pytest.approx(2.0 * box_kd / 3, rel=1e-4)


def face_pair(tmp_path, student_equals_teacher):
    """The face RetinaCrossKD config; with ``student_equals_teacher`` the student is the
    teacher's architecture with the teacher's weights."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'crosskd_retinanet_face.py')).model
    cfg.teacher.checkpoint = save_fresh_checkpoint(FACE_TEACHER, str(tmp_path / 'teacher.pth'))
    if student_equals_teacher:
        cfg.student = Config.fromfile(FACE_TEACHER).model
    model = MODELS.build(cfg)
    model.init_weights()
    if student_equals_teacher:
        model.student.load_state_dict(model.teacher.detector.state_dict())
        model.student.eval()    # BatchNorm on running statistics, as the frozen teacher's
    return model


def face_losses(model):
    inputs, samples = fake_batch(size=128)
    for sample in samples:
        sample.gt_instances.labels.zero_()       # one class: faces
    return model.loss(inputs, samples)


def test_retina_crosskd_on_a_student_equal_to_its_teacher_has_nothing_to_learn(tmp_path):
    """The teacher's own maps through its own tail: both losses vanish (up to fp32 rounding in
    the channel statistics), against a student of its own."""
    same = face_losses(face_pair(tmp_path, student_equals_teacher=True))
    other = face_losses(face_pair(tmp_path, student_equals_teacher=False))
    for name in ('loss_crosskd_cls', 'loss_crosskd_reg'):
        assert other[name] > 0
        assert same[name].item() < 1e-3 * other[name].item()


def test_retina_crosskd_config_trains_the_students_held_convs_through_the_teachers_tail(
        tmp_path):
    model = face_pair(tmp_path, student_equals_teacher=False)
    losses = face_losses(model)
    assert losses['loss_crosskd_cls'] > 0 and losses['loss_crosskd_reg'] > 0
    (losses['loss_crosskd_cls'] + losses['loss_crosskd_reg']).backward()
    head = model.student.bbox_head
    for conv in (head.cls_convs[0].conv, head.reg_convs[0].conv):
        assert conv.weight.grad.abs().sum() > 0
    assert head.retina_cls.weight.grad is None       # the student's own predictors: not used
    assert all(p.grad is None for p in model.teacher.parameters())


def test_retina_crosskd_refuses_a_gfl_head_naming_it(tmp_path):
    cfg = Config.fromfile(osp.join(CONFIGS, 'crosskd_gfl.py')).model
    cfg.distillers = [dict(type='mmkd.RetinaCrossKD', reused_index=1)]
    cfg.teacher.checkpoint = save_fresh_checkpoint(
        osp.join(CONFIGS, 'gfl_r18w32_teacher_shapes.py'), str(tmp_path / 'gfl.pth'))
    with pytest.raises(ValueError, match='RetinaHead'):
        MODELS.build(cfg)
