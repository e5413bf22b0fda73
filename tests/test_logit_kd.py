"""Logit KD on dense heads: the softened KL against Hinton et al.'s formula written out here
(loops), softmax and sigmoid heads, and the face config."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, save_fresh_checkpoint
from mmkd.models.distillers import DenseLogitKD
from mmkd.models.losses import sigmoid_softened_kl, softened_kl
from mmkd.registry import MODELS
from test_cls_map_kd import FACE_TEACHER
from test_distill_detector import fake_batch


def softmax_kl_by_hand(s, t, temperature):
    """T^2 sum_c q_c log(q_c / p_c), q = softmax(t / T), p = softmax(s / T), one row."""
    q = np.exp(t / temperature) / np.exp(t / temperature).sum()
    p = np.exp(s / temperature) / np.exp(s / temperature).sum()
    return temperature ** 2 * (q * np.log(q / p)).sum()


def sigmoid_kl_by_hand(s, t, temperature):
    """T^2 sum_c [q log(q / p) + (1 - q) log((1 - q) / (1 - p))], q = sigma(t_c / T),
    p = sigma(s_c / T), one row."""
    q, p = 1 / (1 + np.exp(-t / temperature)), 1 / (1 + np.exp(-s / temperature))
    return temperature ** 2 * (q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))).sum()


@pytest.mark.parametrize('temperature', [1.0, 4.0])
def test_softened_kl_is_hintons(temperature):
    torch.manual_seed(0)
    student, teacher = torch.randn(5, 4) * 3, torch.randn(5, 4) * 3
    for loss, by_hand in ((softened_kl, softmax_kl_by_hand),
                          (sigmoid_softened_kl, sigmoid_kl_by_hand)):
        expected = [by_hand(s, t, temperature) for s, t in
                    zip(student.double().numpy(), teacher.double().numpy())]
        np.testing.assert_allclose(loss(student, teacher, temperature).numpy(), expected,
                                   rtol=1e-5)
        assert loss(teacher, teacher, temperature).abs().max() < 1e-6


def test_sigmoid_softened_kl_is_finite_for_confident_logits():
    student = torch.tensor([[60.0, -60.0]], requires_grad=True)
    loss = sigmoid_softened_kl(student, torch.tensor([[-60.0, 60.0]]))
    loss.sum().backward()
    assert torch.isfinite(loss).all() and loss.item() > 100
    assert torch.isfinite(student.grad).all()


@pytest.mark.parametrize('sigmoid', [True, False])
def test_distiller_averages_over_every_prior(sigmoid):
    """Two levels, two priors per place, 3 classes (softmax: plus background): the mean over
    all priors of the per-prior divergence, priors read in mmdet's (image, y, x, prior) order."""
    torch.manual_seed(0)
    classes = 3 if sigmoid else 4
    student = [torch.randn(2, 2 * classes, h, h) for h in (4, 2)]
    teacher = [torch.randn(2, 2 * classes, h, h) for h in (4, 2)]
    distiller = DenseLogitKD(temperature=2.0, loss_weight=0.5)
    distiller.sigmoid, distiller.classes = sigmoid, classes     # what setup reads off the heads
    loss = distiller(dict(outputs=(student, None)), dict(maps=teacher))['loss_logit_kd']
    by_hand = sigmoid_kl_by_hand if sigmoid else softmax_kl_by_hand
    values = []
    for s, t in zip(student, teacher):
        s, t = s.double().numpy(), t.double().numpy()
        for n in range(2):
            for y in range(s.shape[2]):
                for x in range(s.shape[3]):
                    for prior in range(2):
                        rows = slice(prior * classes, (prior + 1) * classes)
                        values.append(by_hand(s[n, rows, y, x], t[n, rows, y, x], 2.0))
    assert loss.item() == pytest.approx(0.5 * np.mean(values), rel=1e-5)


def test_face_config_trains_a_step_and_refuses_another_class_count(tmp_path):
    teacher = save_fresh_checkpoint(FACE_TEACHER, str(tmp_path / 'face_teacher.pth'))
    cfg = Config.fromfile(osp.join(CONFIGS, 'logitkd_retinanet_face.py')).model
    cfg.teacher.checkpoint = teacher
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(size=128)
    for sample in samples:
        sample.gt_instances.labels.zero_()       # one class: faces
    losses = model.loss(inputs, samples)
    assert losses['loss_logit_kd'] > 0
    losses['loss_logit_kd'].backward()
    assert model.student.bbox_head.retina_cls.weight.grad.abs().sum() > 0
    cfg.student.bbox_head.num_classes = 2
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(cfg)


def test_gfl_config_distils_every_prior_of_the_quality_scores(tmp_path):
    from test_ld_crosskd import distilled_step
    model, losses = distilled_step('logitkd_gfl.py', tmp_path)
    inputs, _ = fake_batch(size=128)
    teacher = model.teacher.detector
    with torch.no_grad():       # one prior per location: each row of 8 sigmoid class scores
        rows = [np.concatenate([level.permute(0, 2, 3, 1).reshape(-1, 8).double().numpy()
                                for level in detector.bbox_head(detector.extract_feat(inputs))[0]])
                for detector in (model.student, teacher)]
    expected = np.mean([sigmoid_kl_by_hand(s, t, 2.0) for s, t in zip(*rows)])
    assert losses['loss_logit_kd'].item() == pytest.approx(expected, rel=1e-4)
    losses['loss_logit_kd'].backward()
    assert model.student.bbox_head.gfl_cls.weight.grad.abs().sum() > 0


def test_two_teacher_face_config_learns_the_mean_of_the_teachers_probabilities(tmp_path):
    """MEAL V2 on the face pair: the target of each anchor is the two teachers' face
    probabilities averaged, softened by T 2, against the student's; the binary KL written out
    here, from each teacher and the student run on their own."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'logitkd_two_teachers_retinanet_face.py')).model
    assert cfg.teacher is None and len(cfg.teachers) == 2
    for seed, teacher in enumerate(cfg.teachers):
        torch.manual_seed(seed)
        teacher.checkpoint = save_fresh_checkpoint(FACE_TEACHER, str(tmp_path / f't{seed}.pth'))
    model = MODELS.build(cfg)
    assert model.teachers_read == [[0, 1]]
    torch.manual_seed(2)
    with torch.no_grad():          # teachers that disagree, each confident somewhere
        for teacher in model.teachers:
            teacher.detector.bbox_head.retina_cls.weight.normal_(0, 1.0)
            teacher.detector.bbox_head.retina_cls.bias.normal_(0, 3.0)
    inputs, samples = fake_batch(size=128)
    for sample in samples:
        sample.gt_instances.labels.zero_()
    loss = model.loss(inputs, samples)['loss_logit_kd'].item()

    def face_logits(detector):
        with torch.no_grad():
            maps = detector.bbox_head(detector.extract_feat(inputs))[0]
        return np.concatenate([m.double().numpy().reshape(-1) for m in maps])

    student = face_logits(model.student)
    first, second = (face_logits(teacher.detector) for teacher in model.teachers)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    mean_probability = (sigmoid(first) + sigmoid(second)) / 2
    temperature = 2.0

    def kl_to(teacher_logits):
        q, p = sigmoid(teacher_logits / temperature), sigmoid(student / temperature)
        return (temperature ** 2 * (q * np.log(q / p)
                                    + (1 - q) * np.log((1 - q) / (1 - p)))).mean()

    expected = kl_to(np.log(mean_probability / (1 - mean_probability)))
    assert loss == pytest.approx(expected, rel=1e-4)
    for other in (kl_to((first + second) / 2), kl_to(first)):   # what a wrong merge gives
        assert abs(other - expected) > 0.01 * expected
