import math

import pytest
import torch

from conftest import TEACHER_CONFIG, model_config
from mmkd.models.distillers import RPNKD
from mmkd.models.losses import sigmoid_as_two_way, teacher_bounded_l2, weighted_soft_ce
from mmkd.registry import MODELS
from mmengine.config import Config
from test_distill_detector import fake_batch

HINT_CONFIG = 'configs/hint_frcnn.py'


def test_weighted_soft_ce_against_hand_value():
    s = torch.tensor([[1.0, 0.0, 2.0]])
    t = torch.tensor([[0.0, 1.0, 0.0]])
    T, w = 2.0, torch.tensor([1.5, 1.0, 1.0])
    zs = [math.exp(v / T) for v in (1.0, 0.0, 2.0)]
    zt = [math.exp(v / T) for v in (0.0, 1.0, 0.0)]
    p_t = [v / sum(zt) for v in zt]
    log_p_s = [math.log(v / sum(zs)) for v in zs]
    expected = -sum(wc * pt * lps for wc, pt, lps in zip((1.5, 1.0, 1.0), p_t, log_p_s))
    assert weighted_soft_ce(s, t, T, w).item() == pytest.approx(expected, rel=1e-6)


def test_weighted_soft_ce_without_weights_is_cross_entropy_to_teacher():
    torch.manual_seed(0)
    s, t = torch.randn(5, 4), torch.randn(5, 4)
    expected = -(t.softmax(-1) * s.log_softmax(-1)).sum(-1)
    assert torch.allclose(weighted_soft_ce(s, t), expected)


def test_sigmoid_objectness_as_two_way_softmax():
    z = torch.tensor([-2.0, 0.0, 3.0])
    p = sigmoid_as_two_way(z).softmax(-1)
    assert torch.allclose(p[:, 1], torch.sigmoid(z)) and torch.allclose(p[:, 0], 1 - torch.sigmoid(z))


def test_teacher_bounded_l2_switches_per_sample_around_the_margin():
    target = torch.zeros(3, 4)
    student = torch.tensor([[1., 0, 0, 0], [1., 0, 0, 0], [0.5, 0, 0, 0]])   # errors 1, 1, 0.25
    teacher = torch.tensor([[0.5, 0, 0, 0], [2., 0, 0, 0], [0.6, 0, 0, 0]])  # errors .25, 4, .36
    assert teacher_bounded_l2(student, teacher, target).tolist() == [1.0, 0.0, 0.0]
    # margin 0.2: 0.25 + 0.2 > 0.36 now switches the third sample on
    assert teacher_bounded_l2(student, teacher, target, margin=0.2).tolist() == \
        pytest.approx([1.0, 0.0, 0.25])


def test_stage_terms_follow_mu_nu_and_normalisers():
    kd = RPNKD(temperature=1.0, mu=0.25, bg_weight=1.5, nu=0.5)
    s_logits = torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.0, 2.0]])
    t_logits = torch.tensor([[0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    sampled = torch.tensor([True, True, False])
    s_reg = torch.tensor([[1., 0, 0, 0], [0., 0, 0, 0], [0., 0, 0, 0]])
    t_reg = torch.tensor([[0.5, 0, 0, 0], [0., 0, 0, 0], [0., 0, 0, 0]])
    positive = torch.tensor([True, False, False])
    out = kd._kd_losses(s_logits, t_logits, 0, sampled, s_reg, t_reg, torch.zeros(3, 4),
                        positive, reg_avg_factor=2)
    w = torch.tensor([1.5, 1.0])
    soft = weighted_soft_ce(s_logits[:2], t_logits[:2], 1.0, w).mean()
    assert out['loss_rpn_kd_cls'].item() == pytest.approx(0.75 * soft.item(), rel=1e-6)
    assert out['loss_rpn_kd_reg'].item() == pytest.approx(0.5 * 1.0 / 2)   # error 1 > teacher's 0.25
    assert kd.student_loss_scales == {'loss_rpn_cls': 0.25}


def build_hint(teacher_checkpoint, teacher=None, **distiller_kwargs):
    cfg = Config.fromfile(HINT_CONFIG).model
    cfg.teacher = dict(config=teacher or TEACHER_CONFIG, checkpoint=teacher_checkpoint)
    for distiller in cfg.distillers:
        distiller.update(distiller_kwargs.get(distiller.type.split('.')[-1], {}))
    return MODELS.build(cfg)


def test_teacher_roi_head_scores_exactly_the_students_sampled_rois(teacher_checkpoint):
    model = build_hint(teacher_checkpoint)
    model.train()
    seen = {}

    def record(name, value_of):
        def hook(module, args, output):
            seen[name] = value_of(args, output)
        return hook

    model.teacher.roi_head.bbox_roi_extractor.register_forward_hook(
        record('teacher_rois', lambda args, out: args[1].clone()))
    model.student.roi_head.bbox_roi_extractor.register_forward_hook(
        record('student_rois', lambda args, out: args[1].clone()))
    model.student.roi_head.bbox_head.register_forward_hook(
        record('student_scores', lambda args, out: out[0].shape[0]))
    inputs, samples = fake_batch()
    losses = model.loss(inputs, samples)
    assert torch.equal(seen['teacher_rois'], seen['student_rois'])
    assert seen['teacher_rois'].shape[0] == seen['student_scores'] == 2 * 128   # sampler num
    assert torch.isfinite(losses['loss_rcnn_kd_cls'])


def test_all_terms_finite_logged_and_trainable(teacher_checkpoint):
    model = build_hint(teacher_checkpoint)
    model.train()
    inputs, samples = fake_batch()
    samples[1].gt_instances = samples[1].gt_instances[:0]        # an image without GT
    loss, logs = model.parse_losses(model.loss(inputs, samples))
    loss.backward()
    for name in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_reg', 'loss_rcnn_kd_cls',
                 'loss_rcnn_kd_reg'):
        assert name in logs and math.isfinite(logs[name].item()), name
    assert all(p.grad is not None for p in model.distillers[0].adapters.parameters())


def test_mu_scales_the_students_hard_classification_losses(teacher_checkpoint):
    inputs, samples = fake_batch()
    plain = build_hint(teacher_checkpoint, RPNKD=dict(mu=1.0), RoIHeadKD=dict(mu=1.0))
    torch.manual_seed(0)
    hard = plain.loss(inputs, samples)
    halved = build_hint(teacher_checkpoint, RPNKD=dict(mu=0.5), RoIHeadKD=dict(mu=0.5))
    halved.student.load_state_dict(plain.student.state_dict())
    torch.manual_seed(0)
    scaled = halved.loss(inputs, samples)
    assert scaled['loss_cls'].item() == pytest.approx(0.5 * hard['loss_cls'].item(), rel=1e-5)
    assert hard['loss_rpn_kd_cls'].item() == 0.0


def test_class_agnostic_regression_on_one_side(teacher_checkpoint, tmp_path):
    from conftest import save_fresh_checkpoint
    teacher = model_config(TEACHER_CONFIG)
    teacher.roi_head.bbox_head.reg_class_agnostic = True
    path = tmp_path / 'teacher.py'
    Config(dict(model=teacher)).dump(str(path))
    checkpoint = save_fresh_checkpoint(str(path), str(tmp_path / 'agnostic.pth'))
    model = build_hint(checkpoint, teacher=str(path))
    inputs, samples = fake_batch()
    assert torch.isfinite(model.train().loss(inputs, samples)['loss_rcnn_kd_reg'])