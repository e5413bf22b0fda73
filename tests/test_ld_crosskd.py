"""LD and CrossKD: the losses against the papers' formulas written out here (loops), the head
checks, the cross-head forward, the every-call tap, and the shapes GFL configs."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from torch import nn

from conftest import CONFIGS, save_fresh_checkpoint
from mmkd.models.distillers import LD, CrossKD
from mmkd.models.distillers.crosskd import head_with_hold
from mmkd.models.losses import edge_distribution_kd, match_channel_statistics, quality_focal_kd
from mmkd.models.taps import TapSet
from mmkd.registry import MODELS
from test_distill_detector import fake_batch

GFL_TEACHER = osp.join(CONFIGS, 'gfl_r18w32_teacher_shapes.py')


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def ld_by_the_paper(cls_scores, student, teacher, labels, num_classes, bins, temperature):
    """Per positive prior (label in [0, num_classes)) and per box edge:
    T^2 KL(softmax(t / T) || softmax(s / T)), averaged over the bins as mmdet's
    KnowledgeDistillationKLDivLoss does, times the student's top class probability there;
    summed over priors and levels, divided by 4 (the edges of a box)."""
    total = 0.0
    for cls, s, t, lab in zip(cls_scores, student, teacher, labels):
        n, _, h, w = s.shape
        for i in range(n):
            for y in range(h):
                for x in range(w):
                    label = lab[i, y * w + x]
                    if not 0 <= label < num_classes:
                        continue
                    weight = (1 / (1 + np.exp(-cls[i, :, y, x]))).max()
                    for edge in range(4):
                        p_s = softmax(s[i, edge * bins:(edge + 1) * bins, y, x] / temperature)
                        p_t = softmax(t[i, edge * bins:(edge + 1) * bins, y, x] / temperature)
                        kl = (p_t * np.log(p_t / p_s)).sum()
                        total += weight * temperature ** 2 * kl / bins
    return total / 4


def test_ld_is_the_formula_on_the_positive_priors():
    torch.manual_seed(0)
    num_classes, bins = 3, 5
    shapes = [(4, 4), (2, 2)]
    cls_scores = [torch.randn(2, num_classes, h, w) for h, w in shapes]
    student = [torch.randn(2, 4 * bins, h, w) * 3 for h, w in shapes]
    teacher = [torch.randn(2, 4 * bins, h, w) * 3 for h, w in shapes]
    # background is label num_classes, ignored priors -1; three positives on level 0, one on 1
    labels = [torch.full((2, h * w), num_classes) for h, w in shapes]
    labels[0][0, 5], labels[0][1, 0], labels[0][1, 15], labels[1][1, 3] = 0, 2, 1, 2
    labels[0][0, 6] = -1
    distiller = LD(temperature=2.0, loss_weight=0.5)
    distiller.bins, distiller.num_classes = bins, num_classes    # what setup reads off the heads
    student_records = dict(outputs=(cls_scores, student),
                           targets=dict(result=(None, labels)))
    loss = distiller(student_records, dict(bbox_preds=teacher))['loss_ld']
    expected = ld_by_the_paper([c.double().numpy() for c in cls_scores],
                               [s.double().numpy() for s in student],
                               [t.double().numpy() for t in teacher],
                               [lab.numpy() for lab in labels], num_classes, bins, 2.0)
    assert loss.item() == pytest.approx(0.5 * expected, rel=1e-5)
    # no positive prior: zero, with a graph to the student's box branch
    empty = dict(outputs=(cls_scores, [s.requires_grad_() for s in student]),
                 targets=dict(result=(None, [torch.full_like(lab, num_classes)
                                             for lab in labels])))
    zero = distiller(empty, dict(bbox_preds=teacher))['loss_ld']
    assert zero.item() == 0 and zero.requires_grad


class WithHead(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.bbox_head = head


def gfl_head(**overrides):
    cfg = Config.fromfile(GFL_TEACHER).model.bbox_head
    cfg.update(overrides)
    return MMDET_MODELS.build(cfg)


def test_ld_refuses_heads_that_do_not_pair_naming_the_setting():
    from mmdet.utils import register_all_modules
    register_all_modules()
    with pytest.raises(ValueError, match='reg_max'):
        LD().setup({}, {}, WithHead(gfl_head(reg_max=8)), WithHead(gfl_head()))
    retina = MMDET_MODELS.build(dict(
        type='RetinaHead', num_classes=8, in_channels=64,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder')))
    with pytest.raises(ValueError, match='distribution box head'):
        LD().setup({}, {}, WithHead(retina), WithHead(retina))


def distilled_step(config, tmp_path, teacher=GFL_TEACHER, num_classes=8):
    """The losses of one step of a GFL config (the shapes pair's by default: 8 classes), a
    random ``teacher`` saved for it."""
    checkpoint = save_fresh_checkpoint(teacher, str(tmp_path / 'gfl_teacher.pth'))
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    cfg.teacher.checkpoint = checkpoint
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(size=128)
    for sample in samples:
        sample.gt_instances.labels %= num_classes
    return model, model.loss(inputs, samples)


@pytest.mark.parametrize('config, teacher, num_classes', [
    ('ld_gfl.py', GFL_TEACHER, 8),
    ('ld_gfl_mv2_bccd.py', osp.join(CONFIGS, 'gfl_mv2_teacher_bccd.py'), 3)])
def test_ld_config_trains_a_step(tmp_path, config, teacher, num_classes):
    model, losses = distilled_step(config, tmp_path, teacher, num_classes)
    assert losses['loss_ld'] > 0
    losses['loss_ld'].backward()
    assert model.student.bbox_head.gfl_reg.weight.grad.abs().sum() > 0
    assert model.student.bbox_head.gfl_cls.weight.grad is None   # its score only weighs


# --- CrossKD ---------------------------------------------------------------------------------

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_quality_focal_kd_is_the_formula():
    """sum_{m,c} w_m [-(t log s + (1 - t) log(1 - s))] |s - t|^beta / avg_factor, s and t the
    sigmoid probabilities of student and teacher."""
    torch.manual_seed(0)
    student, teacher = torch.randn(6, 3) * 2, torch.randn(6, 3) * 2
    weight = torch.tensor([1., 1., 0., 1., 0.5, 1.])
    s, t = sigmoid(student.double().numpy()), sigmoid(teacher.double().numpy())
    for beta in (1.0, 2.0):
        terms = -(t * np.log(s) + (1 - t) * np.log(1 - s)) * np.abs(s - t) ** beta
        expected = (terms * weight.numpy()[:, None]).sum() / 2.5
        assert quality_focal_kd(student, teacher, weight[:, None], 2.5,
                                beta).item() == pytest.approx(expected, rel=1e-5)


def test_quality_focal_kd_gradient_is_the_formulas():
    """Its backward is written out (to keep only the logits and targets): the gradient must be
    autograd's of the formula written here, for both betas, the weights broadcast over the
    classes of (N, A, C, H, W) maps; none reaches the teacher."""
    torch.manual_seed(0)
    student = (torch.randn(2, 3, 4, 5, 6, dtype=torch.float64) * 3).requires_grad_()
    teacher = (torch.randn(2, 3, 4, 5, 6, dtype=torch.float64) * 3).requires_grad_()
    weight = (torch.rand(2, 3, 1, 5, 6, dtype=torch.float64) > 0.3).double()
    for beta in (1.0, 2.0):
        s, t = student.sigmoid(), teacher.detach().sigmoid()
        formula = (-(t * s.log() + (1 - t) * (1 - s).log()) * (s - t).abs() ** beta
                   * weight).sum() / 7.0
        expected, = torch.autograd.grad(formula, student)
        loss = quality_focal_kd(student, teacher, weight, 7.0, beta)
        assert loss.item() == pytest.approx(formula.item(), rel=1e-10)
        got, = torch.autograd.grad(loss, student)
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)
    quality_focal_kd(student, teacher, weight, 7.0).backward()
    assert teacher.grad is None
    with pytest.raises(ValueError, match='beta=0.5'):
        quality_focal_kd(student, teacher, weight, 7.0, 0.5)


def test_edge_distribution_kd_is_the_formula():
    """sum_m w_m sum_edges T^2 sum_bins p_t log(p_t / p_s) / 4."""
    torch.manual_seed(0)
    bins, temperature = 5, 2.0
    student, teacher = torch.randn(3, 4 * bins) * 2, torch.randn(3, 4 * bins) * 2
    weight = torch.tensor([0.2, 1.0, 0.0])
    expected = 0.0
    for m in range(3):
        for edge in range(4):
            p_s = softmax(student[m, edge * bins:(edge + 1) * bins].double().numpy() / temperature)
            p_t = softmax(teacher[m, edge * bins:(edge + 1) * bins].double().numpy() / temperature)
            expected += weight[m].item() * temperature ** 2 * (p_t * np.log(p_t / p_s)).sum()
    assert edge_distribution_kd(student, teacher, weight, bins, temperature).item() == \
        pytest.approx(expected / 4, rel=1e-5)


def test_channel_statistics_become_the_teachers():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4) * 5 + 2
    moved = match_channel_statistics(student, teacher).transpose(0, 1).reshape(3, -1)
    reference = teacher.transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(moved.mean(1).numpy(), reference.mean(1).numpy(), atol=1e-4)
    np.testing.assert_allclose(moved.std(1).numpy(), reference.std(1).numpy(), rtol=1e-4)


def test_every_call_tap_keeps_one_record_per_call():
    model = nn.Sequential(nn.Identity())
    taps = TapSet(model, 'model')
    taps.add(['0*', '0'])
    with taps.recording() as records:
        for value in (1.0, 2.0, 3.0):
            model(torch.tensor(value))
    assert [r.item() for r in records['0*']] == [1.0, 2.0, 3.0]
    assert records['0'].item() == 3.0


class TeacherStub:
    def __init__(self, detector):
        self.detector = detector

    def module(self, path):
        return self.detector.get_submodule(path)


def crosskd_on_one_head(student_held_of):
    """CrossKD with one GFL head as both student's and teacher's, the student's held maps made
    from the teacher's by ``student_held_of``; returns the losses and the held maps."""
    torch.manual_seed(0)
    head = gfl_head(in_channels=8, feat_channels=8,
                    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    head.gfl_reg.bias.data.normal_()          # spread the box distributions
    for p in head.parameters():
        p.requires_grad_(False)
    model = WithHead(head)
    distiller = CrossKD(reused_index=1)
    distiller.setup({}, {}, model, model)
    feats = [torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)]
    teacher = distiller.teacher_forward({}, dict(feats=feats), TeacherStub(model))
    held = {f'{branch}_held': [student_held_of(level[branch]).requires_grad_()
                               for level in teacher['held']] for branch in ('cls', 'reg')}
    labels_weights = [torch.ones(2, f.shape[-2] * f.shape[-1]) for f in feats]
    records = dict(held, targets=dict(result=(None, None, labels_weights, None, None, 3)))
    return distiller(records, teacher), held, head


def test_crosskd_of_a_per_channel_rescaled_teacher_is_zero():
    """The student's held maps an affine per-channel copy of the teacher's: CrossKD moves them
    to the teacher's statistics, so the cross-head predictions are the teacher's own and both
    losses vanish; maps of their own give positive losses, with a gradient to the student."""
    scale = torch.tensor([3.0, 0.5, 2.0, 1.0, 4.0, 0.25, 1.5, 2.5])[None, :, None, None]
    same, _, _ = crosskd_on_one_head(lambda t: t * scale + 7)
    other, held, head = crosskd_on_one_head(lambda t: torch.randn_like(t))
    for name in ('loss_crosskd_cls', 'loss_crosskd_reg'):
        assert same[name].item() < 1e-3 * other[name].item()    # zero up to fp32 rounding
        assert other[name] > 1e-3
    (other['loss_crosskd_cls'] + other['loss_crosskd_reg']).backward()
    assert all(h.grad.abs().sum() > 0 for maps in held.values() for h in maps)
    assert all(p.grad is None for p in head.parameters())


def test_head_with_hold_is_the_heads_own_forward():
    torch.manual_seed(0)
    head = gfl_head(in_channels=8, feat_channels=8,
                    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    feat = torch.randn(1, 8, 6, 6)
    cls_score, bbox_pred, _ = head_with_hold(head, feat, 1)
    own_cls, own_reg = head.forward_single(feat, head.scales[0])
    torch.testing.assert_close(cls_score, own_cls)
    torch.testing.assert_close(head.scales[0](bbox_pred).float(), own_reg)


@pytest.mark.parametrize('config, teacher, num_classes', [
    ('crosskd_gfl.py', GFL_TEACHER, 8),
    ('crosskd_gfl_mv2_bccd.py', osp.join(CONFIGS, 'gfl_mv2_teacher_bccd.py'), 3)])
def test_crosskd_config_trains_a_step_through_the_teachers_tail(tmp_path, config, teacher,
                                                                num_classes):
    model, losses = distilled_step(config, tmp_path, teacher, num_classes)
    kd = losses['loss_crosskd_cls'] + losses['loss_crosskd_reg']
    assert losses['loss_crosskd_cls'] > 0 and losses['loss_crosskd_reg'] > 0
    kd.backward()
    head = model.student.bbox_head
    assert head.cls_convs[0].conv.weight.grad.abs().sum() > 0      # before the hold
    assert head.cls_convs[1].conv.weight.grad is None               # the student's own tail
    assert all(p.grad is not None for p in model.distillers[0].connectors.parameters())
    assert not any('teacher' in name for name in model.state_dict())


def test_crosskd_with_pkd_on_bccd_adds_pkd_on_every_fpn_level(tmp_path):
    model, losses = distilled_step('crosskd_pkd_gfl_mv2_bccd.py', tmp_path,
                                   osp.join(CONFIGS, 'gfl_mv2_teacher_bccd.py'), num_classes=3)
    crosskd, pkd = model.distillers
    assert isinstance(crosskd, CrossKD)
    assert [p.stride for p in pkd.pairs] == [8, 16, 32, 64, 128]      # P3-P7
    assert losses['loss_crosskd_cls'] > 0 and losses['loss_crosskd_reg'] > 0
    losses['loss_pkd'].backward()
    neck = model.student.neck
    assert all(conv.conv.weight.grad.abs().sum() > 0 for conv in neck.fpn_convs)
    assert model.student.bbox_head.cls_convs[0].conv.weight.grad is None   # PKD stops at the neck
