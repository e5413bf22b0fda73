"""RoICrossKD: the student's RoI features through the teacher's box head, KD on those
predictions. The losses are written out here from their definitions (softmax KL, per-RoI L1 on
the ground-truth class deltas) and compared with the distiller's."""
import copy

import pytest
import torch
from mmengine.config import Config
from torch import nn

from conftest import TEACHER_CONFIG, save_fresh_checkpoint
from mmkd.registry import MODELS
from test_distill_detector import fake_batch
from test_frcnn_kd import grad_norm, write_teacher

HINT_CONFIG = 'configs/hint_frcnn.py'


def build(teacher_checkpoint, teacher=None, **kwargs):
    """The shapes Faster R-CNN pair (student FPN 32, teacher 64) with RoICrossKD alone."""
    cfg = Config.fromfile(HINT_CONFIG).model
    cfg.teacher = dict(config=teacher or TEACHER_CONFIG, checkpoint=teacher_checkpoint)
    cfg.distillers = [dict(type='mmkd.RoICrossKD', **kwargs)]
    return MODELS.build(cfg)


def by_channel_statistics(student, teacher):
    """Each channel of (n, C, S, S) ``student`` at the mean and sample std of the teacher's
    channel, over RoIs and positions, written with loops over channels."""
    out = torch.empty_like(student)
    for c in range(student.shape[1]):
        s, t = student[:, c], teacher[:, c]
        out[:, c] = (s - s.mean()) / (s.std() + 1e-6) * t.std() + t.mean()
    return out


def kl_by_hand(student_logits, teacher_logits, temperature):
    """T^2 KL(P_t || P_s), P = softmax(z / T), per row, from exp and log sums."""
    zs, zt = student_logits / temperature, teacher_logits / temperature
    p_t = zt.exp() / zt.exp().sum(-1, keepdim=True)
    log_p_s = zs - torch.logsumexp(zs, -1, keepdim=True)
    log_p_t = zt - torch.logsumexp(zt, -1, keepdim=True)
    return (p_t * (log_p_t - log_p_s)).sum(-1) * temperature ** 2


def test_cross_head_losses_against_the_definitions(teacher_checkpoint):
    # non-default weights and temperature, so a swapped or dropped factor shows
    model = build(teacher_checkpoint, cls_weight=2.0, reg_weight=3.0, temperature=2.0,
                  loss_weight=0.5).train()
    seen = {}
    for side, detector in (('student', model.student), ('teacher', model.teacher.detector)):
        detector.roi_head.bbox_roi_extractor.register_forward_hook(
            lambda module, args, out, side=side: seen.update(
                {f'{side}_rois': args[1].clone(), f'{side}_feats': out.detach().clone()}))
    step = model.distill_step(*fake_batch())
    # the teacher's RoI features: its own extractor on its own neck, at the student's RoIs
    assert torch.equal(seen['teacher_rois'], seen['student_rois'])
    assert torch.equal(step.teacher_records[0]['roi_feats'], seen['teacher_feats'])
    kd = model.distillers[0]
    # in float64, so the small KL of a teacher at initial weights is not rounding noise
    teacher_head = copy.deepcopy(model.teacher.detector.roi_head.bbox_head).double()
    records, teacher_records = step.student_records[0], step.teacher_records[0]
    labels, label_weights = records['bbox']['result']['bbox_targets'][:2]
    teacher_feats = teacher_records['roi_feats'].double()
    n = labels.numel()
    assert teacher_feats.shape == (n, 64, 7, 7) and seen['student_feats'].shape == (n, 32, 7, 7)
    assert bool((label_weights > 0).all()) and 0 < int((labels < 8).sum()) < n

    with torch.no_grad():
        moved = by_channel_statistics(kd.connector(seen['student_feats']).double(),
                                      teacher_feats)
        cross_cls, cross_reg = teacher_head(moved)
        teacher_cls, teacher_reg = teacher_head(teacher_feats)
    assert torch.allclose(teacher_cls.float(), teacher_records['cls_score'], atol=1e-5)
    cls = kl_by_hand(cross_cls, teacher_cls, 2.0).sum() / n
    reg = 0.0
    for i in range(n):
        c = int(labels[i])
        if c < 8:    # class-specific deltas: those of the RoI's ground-truth class
            reg += float((cross_reg[i, 4 * c:4 * c + 4] - teacher_reg[i, 4 * c:4 * c + 4])
                         .abs().sum())
    assert reg > 0 and cls > 0
    assert step.losses['loss_roi_crosskd_cls'].item() == pytest.approx(0.5 * 2.0 * cls.item(),
                                                                       rel=1e-3)
    assert step.losses['loss_roi_crosskd_reg'].item() == pytest.approx(0.5 * 3.0 * reg / n,
                                                                       rel=1e-3)


def test_the_gradient_passes_the_teacher_head_to_the_students_features_only(
        teacher_checkpoint):
    model = build(teacher_checkpoint).train()
    losses = model.loss(*fake_batch())
    student, kd = model.student, model.distillers[0]
    for name in ('loss_roi_crosskd_cls', 'loss_roi_crosskd_reg'):
        # through the teacher's head into the connector, the neck and the trained backbone ...
        assert grad_norm(losses[name], kd.connector) > 0, name
        assert grad_norm(losses[name], student.neck) > 0, name
        # ... and never into the student's own heads, which learn the ground truth alone
        assert grad_norm(losses[name], student.roi_head.bbox_head) == 0, name
        assert grad_norm(losses[name], student.rpn_head) == 0, name
    sum(v for k, v in losses.items() if 'crosskd' in k).backward()
    assert all(p.grad is None for p in model.teacher.detector.parameters())


def test_student_features_an_affine_copy_of_the_teachers_give_zero_loss(teacher_checkpoint):
    model = build(teacher_checkpoint).train()
    step = model.distill_step(*fake_batch())
    kd = model.distillers[0]
    kd.connector = nn.Identity()      # widths made equal by hand: the copy has 64 channels
    records, teacher_records = dict(step.student_records[0]), step.teacher_records[0]
    teacher_feats = teacher_records['roi_feats']
    scale = torch.linspace(0.5, 3.0, teacher_feats.shape[1])[None, :, None, None]
    records['roi_feats'] = teacher_feats * scale - 2.0
    losses = kd.loss(records, teacher_records)
    assert losses['loss_roi_crosskd_cls'].item() == pytest.approx(0.0, abs=1e-6)
    assert losses['loss_roi_crosskd_reg'].item() == pytest.approx(0.0, abs=1e-4)
    records['roi_feats'] = teacher_feats.flip(0)      # other RoIs' features: not zero
    assert kd.loss(records, teacher_records)['loss_roi_crosskd_cls'].item() > 1e-4


def test_a_different_roi_size_is_refused_naming_the_key(teacher_checkpoint, tmp_path):
    def edit(cfg):
        cfg.roi_head.bbox_roi_extractor.roi_layer.output_size = 5
        cfg.roi_head.bbox_head.roi_feat_size = 5

    path = write_teacher(tmp_path, edit)
    checkpoint = save_fresh_checkpoint(path, str(tmp_path / 'roi5.pth'))
    with pytest.raises(ValueError) as err:
        build(checkpoint, teacher=path)
    message = str(err.value)
    assert 'roi_head.bbox_head.roi_feat_size' in message and '7' in message and '5' in message


def test_the_shapes_recipe_leaves_the_students_box_head_to_the_ground_truth(teacher_checkpoint):
    cfg = Config.fromfile('configs/pkd_roi_crosskd_frcnn.py').model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = MODELS.build(cfg).train()
    losses = model.loss(*fake_batch())
    assert {'loss_pkd', 'loss_rpn_kd_cls', 'loss_rpn_kd_reg', 'loss_roi_crosskd_cls',
            'loss_roi_crosskd_reg'} <= set(losses)
    assert not any(name.startswith('loss_rcnn_kd') for name in losses)
    # only the RPN's hard classification is shared with soft labels (mu); the box head's is not
    scales = [d.student_loss_scales for d in model.distillers]
    assert scales == [{}, {'loss_rpn_cls': 0.5}, {}]


@pytest.mark.parametrize('teacher_agnostic, student_agnostic', [(True, False), (False, True)],
                         ids=['agnostic_teacher', 'agnostic_student'])
def test_heads_that_differ_in_class_agnostic_regression(teacher_checkpoint, tmp_path,
                                                        teacher_agnostic, student_agnostic):
    """Teacher and student may differ in ``reg_class_agnostic``: both predictions the L1
    compares come from the **teacher's** box head (its own and the cross-head ones), so the
    deltas follow the teacher's coding whatever the student's: with a class-agnostic teacher
    the 4 deltas of each positive RoI, with a class-specific one (and a class-agnostic student)
    the 4 of the RoI's ground-truth class among 4 x 8, never all 32.

    Catches: the student's ``reg_class_agnostic`` read instead of the teacher's (for either
    the cross-head or the teacher's deltas), and a build-time refusal of the mix."""
    teacher = TEACHER_CONFIG
    if teacher_agnostic:
        teacher = write_teacher(
            tmp_path, lambda cfg: cfg.roi_head.bbox_head.update(reg_class_agnostic=True))
        teacher_checkpoint = save_fresh_checkpoint(teacher, str(tmp_path / 'agnostic.pth'))
    cfg = Config.fromfile(HINT_CONFIG).model
    cfg.teacher = dict(config=teacher, checkpoint=teacher_checkpoint)
    cfg.student.roi_head.bbox_head.reg_class_agnostic = student_agnostic
    cfg.distillers = [dict(type='mmkd.RoICrossKD', reg_weight=3.0, loss_weight=0.5)]
    model = MODELS.build(cfg).train()
    teacher_head = model.teacher.detector.roi_head.bbox_head
    assert teacher_head.reg_class_agnostic is teacher_agnostic
    assert model.student.roi_head.bbox_head.reg_class_agnostic is student_agnostic
    seen = {}
    model.student.roi_head.bbox_roi_extractor.register_forward_hook(
        lambda module, args, out: seen.update(feats=out.detach().clone()))
    step = model.distill_step(*fake_batch())
    kd = model.distillers[0]
    records, teacher_records = step.student_records[0], step.teacher_records[0]
    labels = records['bbox']['result']['bbox_targets'][0]
    n = labels.numel()
    assert teacher_records['bbox_pred'].shape == (n, 4 if teacher_agnostic else 32)
    assert records['bbox']['inputs']['bbox_pred'].shape == (n, 4 if student_agnostic else 32)
    assert 0 < int((labels < 8).sum()) < n

    head = copy.deepcopy(teacher_head).double()
    with torch.no_grad():
        teacher_feats = teacher_records['roi_feats'].double()
        moved = by_channel_statistics(kd.connector(seen['feats']).double(), teacher_feats)
        _, cross_reg = head(moved)
        _, teacher_reg = head(teacher_feats)
    reg, all_deltas = 0.0, 0.0
    for i in range(n):
        c = int(labels[i])
        if c < 8:
            first = 0 if teacher_agnostic else 4 * c
            reg += float((cross_reg[i, first:first + 4] - teacher_reg[i, first:first + 4])
                         .abs().sum())
            all_deltas += float((cross_reg[i] - teacher_reg[i]).abs().sum())
    assert reg > 0
    if not teacher_agnostic:        # the test tells the ground-truth class's deltas from all
        assert all_deltas > 1.5 * reg
    assert step.losses['loss_roi_crosskd_reg'].item() == pytest.approx(0.5 * 3.0 * reg / n,
                                                                       rel=1e-3)
