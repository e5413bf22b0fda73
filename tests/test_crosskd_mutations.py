"""CrossKD on a small GFL head against the authors' definition (jbwang1997/CrossKD,
``mmdet/models/detectors/crosskd_gfl.py``: ``forward_crosskd_single``, ``reuse_teacher_head``,
``align_scale``, ``loss_by_feat``, ``pred_mimicking_loss_single``; ``KDQualityFocalLoss`` and
``KnowledgeDistillationKLDivLoss(class_reduction='sum')`` in ``mmdet/models/losses/kd_loss.py``),
written out here with explicit convolutions, group norms and loops, never with mmkd's own code:

* the held maps are each branch's conv ``reused_index - 1`` output **after** its ReLU (the
  authors hold the tensor that mmcv's in-place ReLU then overwrites, so do mmkd's hook and
  ``head_with_hold``);
* the cross head: the student's held map moved to the teacher's per-channel mean and sample
  standard deviation (``(s - mean_s) / (std_s + 1e-6) * std_t + mean_t``), then a ReLU, then the
  teacher's convs ``reused_index ..``, its predictors and the level's Scale;
* class KD: ``sum_{m,c} w_m BCE(x_mc, sigma(t_mc)) |sigma(x_mc) - sigma(t_mc)|^beta`` over all
  levels, divided by the number of positives (the ``avg_factor`` of ``get_targets``), not by
  the priors; ``w_m`` the label weights (0 for ignored priors);
* box KD: per prior ``r_m = sigma(max_c t_mc)`` from the **teacher's** scores, 0 where
  ``w_m == 0`` (whatever ``w_m`` is elsewhere); ``sum_m r_m sum_edges T^2 KL(p_t || p_s) / 4``
  over all levels, divided by ``sum_m r_m``.

Each test's docstring lists the mutations of ``mmkd/models/distillers/crosskd.py`` it fails on
(the audit's list):

M1 ``reg_weights = ...sigmoid() * (weights > 0)`` without ``* (weights > 0)`` (ignored priors
   kept in the box weights);
M2 ``loss_crosskd_reg`` without ``/ reg_weight_sum...`` (no normalisation by the weight sum);
M3 the class KD's ``avg_factor`` the number of priors instead of the positives;
M4 ``reg_weights`` from ``cross_cls`` (the student's cross-head scores) instead of
   ``teacher_cls``;
M5 ``head_tail``'s ``x = F.relu(held[branch])`` as ``x = held[branch]`` (no ReLU before the
   teacher's tail).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmkd.models.distillers import CrossKD
from mmkd.models.taps import TapSet
from test_ld_crosskd import TeacherStub, WithHead, gfl_head

NUM_CLASSES, REG_MAX = 3, 4
BINS = REG_MAX + 1
SHAPES = [(6, 6), (3, 3)]          # two levels, batch of two: 90 priors (one anchor a location)
NUM_POSITIVES = 5
BRANCHES = ('cls', 'reg')


def small_head():
    """A two-conv GFL head (8 channels, GN of 4 groups, 3 classes, 5 bins) with every
    parameter spread so that no layer is near an identity or a constant."""
    torch.manual_seed(0)
    head = gfl_head(in_channels=8, feat_channels=8, num_classes=NUM_CLASSES, reg_max=REG_MAX,
                    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    for branch in BRANCHES:
        for conv in getattr(head, f'{branch}_convs'):
            conv.gn.weight.data = 1 + 0.3 * torch.randn_like(conv.gn.weight)
            conv.gn.bias.data = 0.3 * torch.randn_like(conv.gn.bias)
    head.gfl_cls.bias.data.normal_()
    head.gfl_reg.bias.data.normal_()
    for scale, value in zip(head.scales, (1.3, 0.8)):
        scale.scale.data.fill_(value)
    for p in head.parameters():
        p.requires_grad_(False)
    return head


# --- the authors' computation, written out ---------------------------------------------------

def conv_gn_relu(conv_module, x):
    """mmcv's ConvModule (3x3 conv without bias, GroupNorm, ReLU) with torch's functionals."""
    assert conv_module.conv.bias is None
    gn = conv_module.gn
    x = F.conv2d(x, conv_module.conv.weight.double(), padding=1)
    x = F.group_norm(x, gn.num_groups, gn.weight.double(), gn.bias.double(), gn.eps)
    return x.clamp(min=0)


def predictors(head, level, cls_feat, reg_feat):
    cls = F.conv2d(cls_feat, head.gfl_cls.weight.double(), head.gfl_cls.bias.double(), padding=1)
    reg = F.conv2d(reg_feat, head.gfl_reg.weight.double(), head.gfl_reg.bias.double(), padding=1)
    return cls, reg * head.scales[level].scale.item()


def teacher_by_hand(head, feats, index):
    """Per level (cls logits, box logits, {branch: held map after conv index-1's ReLU})."""
    out = []
    for level, feat in enumerate(feats):
        final, held = {}, {}
        for branch in BRANCHES:
            x = feat.double()
            for i, conv in enumerate(getattr(head, f'{branch}_convs')):
                x = conv_gn_relu(conv, x)
                if i + 1 == index:
                    held[branch] = x
            final[branch] = x
        out.append((*predictors(head, level, final['cls'], final['reg']), held))
    return out


def moved_to(student, teacher):
    """Each channel of ``student`` to ``teacher``'s mean and sample std over batch and
    positions, with the authors' ``+ 1e-6`` on the student's std; a loop over channels."""
    moved = torch.empty_like(student)
    for c in range(student.shape[1]):
        s, t = student[:, c], teacher[:, c]
        n_s, n_t = s.numel(), t.numel()
        mean_s, mean_t = s.sum() / n_s, t.sum() / n_t
        std_s = (((s - mean_s) ** 2).sum() / (n_s - 1)).sqrt()
        std_t = (((t - mean_t) ** 2).sum() / (n_t - 1)).sqrt()
        moved[:, c] = (s - mean_s) / (std_s + 1e-6) * std_t + mean_t
    return moved


def cross_head_by_hand(head, student_held, teacher_held, index):
    """Per level the (cls, box) logits of the student's held maps through the teacher's tail."""
    out = []
    for level, teacher_level in enumerate(teacher_held):
        final = {}
        for branch in BRANCHES:
            x = moved_to(student_held[branch][level].double(), teacher_level[branch])
            x = x.clamp(min=0)                                  # the ReLU of conv index - 1
            for conv in getattr(head, f'{branch}_convs')[index:]:
                x = conv_gn_relu(conv, x)
            final[branch] = x
        out.append(predictors(head, level, final['cls'], final['reg']))
    return out


def priors(level_map, per_prior):
    """(N, K, H, W) numpy -> [(n, y, x, K-vector)] in mmdet's order (image, row, column)."""
    n, _, h, w = level_map.shape
    return [level_map[i, :, y, x].reshape(per_prior) for i in range(n) for y in range(h)
            for x in range(w)]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def losses_by_hand(cross, teacher, label_weights, num_positives, beta=1.0, temperature=1.0):
    """``(class KD, box KD)`` of the authors' GFL CrossKD, before cls_weight / reg_weight."""
    cls_sum, reg_sum, weight_sum = 0.0, 0.0, 0.0
    for (cross_cls, cross_reg), (teacher_cls, teacher_reg, _), weights in zip(
            cross, teacher, label_weights):
        weights = weights.reshape(-1).tolist()
        for w, x, t, xr, tr in zip(weights, priors(cross_cls.numpy(), NUM_CLASSES),
                                   priors(teacher_cls.numpy(), NUM_CLASSES),
                                   priors(cross_reg.numpy(), 4 * BINS),
                                   priors(teacher_reg.numpy(), 4 * BINS)):
            p, q = sigmoid(x), sigmoid(t)
            for c in range(NUM_CLASSES):
                bce = -(q[c] * np.log(p[c]) + (1 - q[c]) * np.log(1 - p[c]))
                cls_sum += w * bce * abs(p[c] - q[c]) ** beta
            r = 0.0 if w == 0 else sigmoid(t.max())             # the teacher's top score
            for edge in range(4):
                p_s = softmax(xr[edge * BINS:(edge + 1) * BINS] / temperature)
                p_t = softmax(tr[edge * BINS:(edge + 1) * BINS] / temperature)
                reg_sum += r * temperature ** 2 * (p_t * np.log(p_t / p_s)).sum() / 4
            weight_sum += r
    return cls_sum / max(num_positives, 1), reg_sum / weight_sum


# --- the case ----------------------------------------------------------------------------------

def case(index):
    """The distiller on ``small_head`` as teacher (and student, for setup), the teacher's
    records from its own forward, random after-ReLU student maps, label weights with ignored
    priors (0) and a few positives weighted 2 (``pos_weight``)."""
    head = small_head()
    model = WithHead(head)
    distiller = CrossKD(reused_index=index, cls_weight=1.5, reg_weight=4.0)
    distiller.setup({}, {}, model, model)
    torch.manual_seed(1)
    feats = [torch.randn(2, 8, h, w) for h, w in SHAPES]
    teacher = distiller.teacher_forward({}, dict(feats=feats), TeacherStub(model))
    student_held = {branch: [(torch.randn(2, 8, h, w) * 2 + 0.5).relu() for h, w in SHAPES]
                    for branch in BRANCHES}
    label_weights = []
    for h, w in SHAPES:
        weights = torch.ones(2, h * w)
        weights[torch.rand(2, h * w) < 0.3] = 0.0
        weights[torch.rand(2, h * w) < 0.1] = 2.0
        label_weights.append(weights)
    records = dict(cls_held=student_held['cls'], reg_held=student_held['reg'],
                   targets=dict(result=(None, None, label_weights, None, None, NUM_POSITIVES)))
    return distiller, head, feats, teacher, student_held, records, label_weights


@pytest.mark.parametrize('index', [1, 2])
def test_teacher_forward_holds_the_maps_after_the_activation(index):
    """The teacher's predictions are its head's, and its held maps are conv ``index - 1``'s
    output after the ReLU (the authors' aliasing of the in-place activation); the student's
    tap on the same GN (``{branch}_convs.{index - 1}.gn*``) records the after-ReLU map too.
    Pins the docstring's claim; none of M1-M5 touch it."""
    distiller, head, feats, teacher, _, _, _ = case(index)
    expected = teacher_by_hand(head, feats, index)
    for level, (cls, reg, held) in enumerate(expected):
        np.testing.assert_allclose(teacher['cls_scores'][level].numpy(), cls.numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(teacher['bbox_preds'][level].numpy(), reg.numpy(),
                                   rtol=1e-4, atol=1e-5)
        for branch in BRANCHES:
            assert (held[branch] == 0).any()           # the ReLU cut something off
            np.testing.assert_allclose(teacher['held'][level][branch].numpy(),
                                       held[branch].numpy(), rtol=1e-4, atol=1e-5)
    taps = TapSet(WithHead(head), 'student')
    paths = {branch: f'bbox_head.{branch}_convs.{index - 1}.gn*' for branch in BRANCHES}
    taps.add(paths.values())
    with taps.recording() as records:
        head(feats)
    for branch, path in paths.items():
        for level, (_, _, held) in enumerate(expected):
            np.testing.assert_allclose(records[path][level].numpy(), held[branch].numpy(),
                                       rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('index', [1, 2])
def test_cross_head_is_relu_then_the_teachers_tail(index):
    """The cross-head predictions: the student's held maps moved to the teacher's channel
    statistics, a ReLU, the teacher's convs from ``index`` on, its predictors and Scale; for
    ``index`` 1 (one teacher conv reused) and 2 (the predictors alone). Fails on M5."""
    distiller, head, _, teacher, student_held, records, _ = case(index)
    expected = cross_head_by_hand(head, student_held, teacher['held'], index)
    for (cls, reg), (want_cls, want_reg) in zip(distiller.cross_head(records, teacher),
                                                expected):
        np.testing.assert_allclose(cls.numpy(), want_cls.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(reg.numpy(), want_reg.numpy(), rtol=1e-4, atol=1e-5)


def by_hand_and_distilled():
    """Case 1's (class KD, box KD) computed by hand, and the distiller's losses on it."""
    distiller, head, feats, teacher, student_held, records, label_weights = case(1)
    by_hand_teacher = teacher_by_hand(head, feats, 1)
    cross = cross_head_by_hand(head, student_held, [h for *_, h in by_hand_teacher], 1)
    return (losses_by_hand(cross, by_hand_teacher, label_weights, NUM_POSITIVES),
            distiller(records, teacher))


def test_class_kd_is_divided_by_the_positives():
    """``loss_crosskd_cls`` is cls_weight times the quality focal KD of the cross head against
    the teacher, each prior times its label weight (ignored ones 0), summed over priors,
    classes and levels, divided by the positives (5 here; 90 priors, label weights summing to
    neither). Fails on M3 and M5."""
    (cls_kd, _), losses = by_hand_and_distilled()
    assert losses['loss_crosskd_cls'].item() == pytest.approx(1.5 * cls_kd, rel=1e-4)


def test_box_kd_is_the_teacher_confidence_weighted_mean():
    """``loss_crosskd_reg`` is reg_weight times the box-edge KL of the cross head against the
    teacher, each prior weighted by the teacher's top class probability (0 on priors of label
    weight 0, that probability whatever the nonzero label weight), summed, divided by 4 and
    by the sum of those weights. Fails on M1, M2, M4 and M5."""
    (_, box_kd), losses = by_hand_and_distilled()
    assert losses['loss_crosskd_reg'].item() == pytest.approx(4.0 * box_kd, rel=1e-4)


def test_ignored_priors_change_nothing():
    """Whatever the teacher predicts at priors of label weight 0, both losses stay the same
    (the teacher's maps there replaced by noise); a prior of nonzero weight does change them.
    Fails on M1."""
    distiller, _, _, teacher, _, records, label_weights = case(1)
    before = distiller(records, teacher)
    changed = dict(teacher)
    for key, per_prior in (('cls_scores', NUM_CLASSES), ('bbox_preds', 4 * BINS)):
        maps = []
        for level_map, weights in zip(teacher[key], label_weights):
            n, _, h, w = level_map.shape
            ignored = (weights.reshape(n, 1, h, w) == 0).float()
            maps.append(level_map + ignored * 5 * torch.randn_like(level_map))
        changed[key] = maps
    after = distiller(records, changed)
    for name in ('loss_crosskd_cls', 'loss_crosskd_reg'):
        assert after[name].item() == pytest.approx(before[name].item(), rel=1e-6)
    kept = dict(teacher, bbox_preds=[m + 5 * torch.randn_like(m) for m in teacher['bbox_preds']])
    assert distiller(records, kept)['loss_crosskd_reg'].item() != pytest.approx(
        before['loss_crosskd_reg'].item(), rel=1e-3)
