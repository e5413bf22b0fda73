"""Attention transfer, FSP, RKD and SP: their losses against the papers' formulas written out
here (numpy loops), and the distillers on the shapes pair."""
import itertools
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from conftest import CONFIGS
from mmkd.models.distillers import FSP, RKD, AttentionTransfer
from mmkd.models.losses import (flow_matrix, rkd_angle_loss, rkd_distance_loss,
                                similarity_preserving_loss)
from mmkd.registry import MODELS
from test_distill_detector import fake_batch
from test_mgd_fgd import det_samples


def huber(x):
    return 0.5 * x ** 2 if abs(x) < 1 else abs(x) - 0.5


# --- attention transfer ------------------------------------------------------------------------

def attention_transfer_by_the_paper(student_levels, teacher_levels, beta=1000.0, p=2):
    """beta / 2 * sum_j ||Q_S^j / ||Q_S^j|| - Q_T^j / ||Q_T^j|| ||_2 with Q^j = sum_c |F_c|^p,
    beta divided by the attention map's elements and the batch size (the paper, section 4)."""
    total = 0.0
    for student, teacher in zip(student_levels, teacher_levels):
        n, _, h, w = student.shape
        for image in range(n):
            q = []
            for feat in (student[image], teacher[image]):
                attention = np.zeros(h * w)
                for c in range(feat.shape[0]):
                    attention += np.abs(feat[c]).reshape(-1) ** p
                q.append(attention / np.sqrt((attention ** 2).sum()))
            total += beta / (h * w * n) / 2 * np.sqrt(((q[0] - q[1]) ** 2).sum())
    return total


def test_attention_transfer_is_the_papers_formula_on_levels_of_two_widths():
    torch.manual_seed(0)
    student = (torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4))
    teacher = (torch.randn(2, 7, 8, 8), torch.randn(2, 9, 4, 4))
    distiller = AttentionTransfer()
    distiller.setup(dict(feats=student), dict(feats=teacher))
    assert len(list(distiller.parameters())) == 0          # no connector
    loss = distiller(dict(feats=student), dict(feats=teacher))['loss_at']
    expected = attention_transfer_by_the_paper([s.double().numpy() for s in student],
                                               [t.double().numpy() for t in teacher])
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_attention_transfer_sees_where_not_which_channel():
    """Any maps with the same per-position energy share the attention: zero loss; moving the
    energy elsewhere does not."""
    torch.manual_seed(0)
    teacher = torch.randn(1, 4, 6, 6)
    energy = teacher.pow(2).sum(dim=1, keepdim=True).sqrt()
    student = torch.cat([energy * 3, torch.zeros(1, 1, 6, 6)], dim=1)   # other width, same where
    distiller = AttentionTransfer()
    distiller.setup(dict(feats=(student,)), dict(feats=(teacher,)))
    assert distiller(dict(feats=(student,)), dict(feats=(teacher,)))['loss_at'].item() \
        == pytest.approx(0, abs=1e-4)
    moved = student.flip(-1)
    assert distiller(dict(feats=(moved,)), dict(feats=(teacher,)))['loss_at'].item() > 1


# --- FSP ---------------------------------------------------------------------------------------

def fsp_by_the_paper(student_pairs, teacher_pairs):
    """(1/N) sum_x sum_i ||G_T^i(x) - G_S^i(x)||_2^2, G_jk = sum_{h,w} F1_j F2_k / (H W)."""
    total = 0.0
    for (s1, s2), (t1, t2) in zip(student_pairs, teacher_pairs):
        n, _, h, w = s1.shape
        for image in range(n):
            g = []
            for first, second in ((s1[image], s2[image]), (t1[image], t2[image])):
                matrix = np.zeros((first.shape[0], second.shape[0]))
                for j in range(first.shape[0]):
                    for k in range(second.shape[0]):
                        matrix[j, k] = sum(first[j, y, x] * second[k, y, x]
                                           for y in range(h) for x in range(w)) / (h * w)
                g.append(matrix)
            total += ((g[1] - g[0]) ** 2).sum() / n
    return total


def fsp_records(pairs):
    return {f'{end}{index}': feat for index, pair in enumerate(pairs)
            for end, feat in zip(('first', 'second'), pair)}


def test_fsp_is_the_papers_formula():
    torch.manual_seed(0)
    student = [(torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5)),
               (torch.randn(2, 4, 3, 3), torch.randn(2, 2, 3, 3))]
    teacher = [(torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5)),
               (torch.randn(2, 4, 3, 3), torch.randn(2, 2, 3, 3))]
    distiller = FSP([['a', 'b'], ['c', 'd']], loss_weight=1.0)
    distiller.setup(fsp_records(student), fsp_records(teacher))
    assert len(list(distiller.parameters())) == 0          # one width: no connector
    loss = distiller(fsp_records(student), fsp_records(teacher))['loss_fsp']
    double = lambda pairs: [tuple(f.double().numpy() for f in pair) for pair in pairs]  # noqa
    assert loss.item() == pytest.approx(fsp_by_the_paper(double(student), double(teacher)),
                                        rel=1e-5)


def test_fsp_connects_narrower_student_layers_and_checks_sizes():
    torch.manual_seed(0)
    student = [(torch.randn(2, 3, 5, 5, requires_grad=True), torch.randn(2, 4, 5, 5))]
    teacher = [(torch.randn(2, 6, 5, 5), torch.randn(2, 4, 5, 5))]
    distiller = FSP([['a', 'b']], [['x', 'y']])
    distiller.setup(fsp_records(student), fsp_records(teacher))
    assert distiller.connectors[0][0].weight.shape == (6, 3, 1, 1)
    assert isinstance(distiller.connectors[1], torch.nn.Identity)
    distiller(fsp_records(student), fsp_records(teacher))['loss_fsp'].backward()
    assert student[0][0].grad.abs().sum() > 0 and distiller.connectors[0][0].weight.grad is not None
    with pytest.raises(ValueError, match=r"'x' and 'y' must return .* one H, W"):
        distiller.setup(fsp_records(student), fsp_records([(teacher[0][0],
                                                            torch.randn(2, 4, 3, 3))]))
    with pytest.raises(ValueError, match='student_pairs'):
        FSP([['a', 'b', 'c']])
    with pytest.raises(ValueError, match='did not run'):
        distiller.setup({'first0': student[0][0]}, fsp_records(teacher))


def test_flow_matrix_of_one_hot_maps():
    """Channel j of F1 and channel k of F2 overlapping on m of the H W cells: G_jk = m / (H W)."""
    first = torch.zeros(1, 2, 2, 2)
    second = torch.zeros(1, 1, 2, 2)
    first[0, 0, 0, :] = 1           # top row
    first[0, 1] = 1                 # everywhere
    second[0, 0, :, 0] = 1          # left column
    assert flow_matrix(first, second)[0].tolist() == [[0.25], [0.5]]


# --- RKD and SP --------------------------------------------------------------------------------

def distances_by_the_paper(e):
    """lenscloth/RKD's ``RkdDistance``: distances over the mean of the positive ones."""
    k = len(e)
    d = np.array([[np.linalg.norm(e[i] - e[j]) for j in range(k)] for i in range(k)])
    return d / d[d > 0].mean()


def rkd_distance_by_the_paper(s, t):
    """The Huber loss averaged over all K^2 entries (the authors' ``elementwise_mean``)."""
    ds, dt = distances_by_the_paper(s), distances_by_the_paper(t)
    k = len(s)
    return sum(huber(ds[i, j] - dt[i, j]) for i in range(k) for j in range(k)) / k ** 2


def angle(e, i, j, k):
    """The cosine at e_j of the triplet; 0 where e_i or e_k is e_j (the authors' normalised
    zero vector)."""
    a, b = e[i] - e[j], e[k] - e[j]
    if i == j or k == j:
        return 0.0
    return (a / np.linalg.norm(a)) @ (b / np.linalg.norm(b))


def rkd_angle_by_the_paper(s, t):
    """The Huber loss averaged over all K^3 entries (lenscloth/RKD's ``RKdAngle``)."""
    triplets = list(itertools.product(range(len(s)), repeat=3))
    return np.mean([huber(angle(s, *x) - angle(t, *x)) for x in triplets])


def sp_by_the_paper(s, t):
    def normalised_gram(q):
        g = q @ q.T
        return g / np.linalg.norm(g, axis=1, keepdims=True)
    return ((normalised_gram(t) - normalised_gram(s)) ** 2).sum() / len(s) ** 2


@pytest.mark.parametrize('loss, formula', [(rkd_distance_loss, rkd_distance_by_the_paper),
                                           (rkd_angle_loss, rkd_angle_by_the_paper),
                                           (similarity_preserving_loss, sp_by_the_paper)])
def test_relation_losses_are_the_papers_formulas(loss, formula):
    torch.manual_seed(0)
    student, teacher = torch.randn(6, 5) * 2, torch.randn(6, 11)
    value = loss(student.double(), teacher.double()).item()
    assert value == pytest.approx(formula(student.double().numpy(), teacher.double().numpy()),
                                  rel=1e-6)
    assert value > 1e-3


def test_rkd_distance_of_many_objects_is_the_authors_with_an_exact_zero_diagonal():
    """Past 25 rows ``torch.cdist`` may take a matrix-product shortcut whose diagonal is not
    exactly 0, which would enter the mean of the positive distances; 40 objects in float32."""
    torch.manual_seed(1)
    student, teacher = torch.randn(40, 64) * 30 + 100, torch.randn(40, 16)
    expected = rkd_distance_by_the_paper(student.double().numpy(), teacher.double().numpy())
    assert rkd_distance_loss(student, teacher).item() == pytest.approx(expected, rel=1e-4)


def test_relations_ignore_scale_rotation_and_width():
    """The student's objects are the teacher's turned, scaled and shifted into another width:
    RKD's distances and angles and SP's similarities (no shift: SP is not shift-free) agree."""
    torch.manual_seed(0)
    teacher = torch.randn(7, 4, dtype=torch.float64)
    turn, _ = torch.linalg.qr(torch.randn(6, 4, dtype=torch.float64))   # 4 orthonormal columns
    student = 3 * teacher @ turn.t()
    for loss in (rkd_distance_loss, rkd_angle_loss):
        assert loss(student + 5, teacher).item() == pytest.approx(0, abs=1e-12)
    assert similarity_preserving_loss(student, teacher).item() == pytest.approx(0, abs=1e-12)
    assert rkd_distance_loss(student + torch.randn_like(student), teacher) > 1e-3


@pytest.mark.parametrize('count, loss', [(1, rkd_distance_loss), (2, rkd_angle_loss),
                                         (0, similarity_preserving_loss)])
def test_relation_losses_of_too_few_objects_are_zero_with_a_gradient_path(count, loss):
    student = torch.randn(count, 5, requires_grad=True)
    value = loss(student, torch.randn(count, 3))
    assert value.item() == 0
    value.backward()
    assert student.grad is not None and student.grad.abs().sum() == 0


def test_object_embeddings_pool_each_box_at_its_level_in_both_models():
    """A box over a region of constant value pools to that value; K rows for the K boxes of the
    batch, each model at its own width; boxes of different scale go to different levels."""
    student = (torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 16, 16))
    teacher = (torch.zeros(2, 5, 32, 32), torch.zeros(2, 5, 16, 16))
    student[0][0, :, 1:7, 1:7] = 7.0            # stride 4: pixels 4-28 of image 0
    teacher[0][0, :, 1:7, 1:7] = -2.0
    student[1][1] = 4.0                         # stride 8: all of image 1
    teacher[1][1] = 1.0
    samples = det_samples([torch.tensor([[8., 8., 24., 24.]]),
                           torch.tensor([[0., 0., 120., 120.], [30., 30., 50., 50.]])])
    distiller = RKD()
    records = dict(feats=student, samples=dict(inputs=dict(batch_data_samples=samples)))
    distiller.setup(records, dict(feats=teacher))
    embedded_student, embedded_teacher = distiller.object_embeddings(records, dict(feats=teacher))
    assert embedded_student.shape == (3, 3 * 49) and embedded_teacher.shape == (3, 5 * 49)
    # mmdet's rule: a box of scale >= 2 * 56 px at stride 8, smaller ones at stride 4
    assert torch.allclose(embedded_student[0], torch.full((147,), 7.0))
    assert torch.allclose(embedded_teacher[0], torch.full((245,), -2.0))
    assert torch.allclose(embedded_student[1], torch.full((147,), 4.0))
    assert torch.allclose(embedded_teacher[1], torch.full((245,), 1.0))
    assert embedded_student[2].abs().sum() == 0 and embedded_teacher[2].abs().sum() == 0


@pytest.mark.parametrize('config, names', [
    ('at_frcnn.py', ['loss_at']), ('fsp_frcnn.py', ['loss_fsp']),
    ('rkd_frcnn.py', ['loss_rkd_distance', 'loss_rkd_angle']), ('sp_frcnn.py', ['loss_sp'])])
def test_shapes_configs_train_a_step(config, names, teacher_checkpoint):
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(batch=2, size=128)
    for sample, extra in zip(samples, ([[60., 60., 120., 100.]], [[90., 10., 126., 70.]])):
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([sample.gt_instances.bboxes, torch.tensor(extra)]),
            labels=torch.cat([sample.gt_instances.labels, torch.tensor([1])]))
    losses = model.loss(inputs, samples)
    total = sum(losses[name] for name in names)
    assert total > 0
    total.backward()
    assert model.student.backbone.layer1[0].conv1.weight.grad.abs().sum() > 0
    teacher = model.teacher.detector
    assert all(p.grad is None for p in teacher.parameters())
