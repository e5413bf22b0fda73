import math

import pytest
import torch
import torch.nn.functional as F

from conftest import TEACHER_CONFIG, model_config
from mmkd.models.distillers import FeatureHint, RoIHeadKD, RPNKD
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
                        positive, cls_avg_factor=4, reg_avg_factor=2)
    w = torch.tensor([1.5, 1.0])
    soft = weighted_soft_ce(s_logits[:2], t_logits[:2], 1.0, w).sum() / 4
    assert out['loss_rpn_kd_cls'].item() == pytest.approx(0.75 * soft.item(), rel=1e-6)
    assert out['loss_rpn_kd_reg'].item() == pytest.approx(0.5 * 1.0 / 2)   # error 1 > teacher's 0.25
    assert kd.student_loss_scales == {'loss_rpn_cls': 0.25}


def build_hint(teacher_checkpoint, teacher=None, **distiller_kwargs):
    cfg = Config.fromfile(HINT_CONFIG).model
    cfg.teacher = dict(config=teacher or TEACHER_CONFIG, checkpoint=teacher_checkpoint)
    for distiller in cfg.distillers:
        distiller.update(distiller_kwargs.get(distiller.type.split('.')[-1], {}))
    return MODELS.build(cfg)


def soft_ce_by_hand(student_logits, teacher_logits, temperature, class_weights):
    """Chen et al.'s ``L_soft = -sum_c w_c P_t,c log P_s,c``, ``P = softmax(z / T)``, per row,
    written out with exp/log sums (not ``weighted_soft_ce``)."""
    zs, zt = student_logits / temperature, teacher_logits / temperature
    log_p_s = zs - torch.logsumexp(zs, dim=-1, keepdim=True)
    p_t = zt.exp() / zt.exp().sum(-1, keepdim=True)
    return -(class_weights * p_t * log_p_s).sum(-1)


def grad_norm(loss, module):
    """Norm of d loss / d (parameters of ``module``), 0 where none reaches them."""
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return sum(float(g.norm()) for g in grads if g is not None)


def test_teacher_roi_head_scores_exactly_the_students_sampled_rois(teacher_checkpoint):
    # non-default recipe values, so a swapped or dropped factor shows
    kd = dict(mu=0.25, temperature=2.0, bg_weight=2.0, nu=0.75, loss_weight=3.0)
    model = build_hint(teacher_checkpoint, RoIHeadKD=kd)
    model.train()
    seen = {}

    def record(name, value_of):
        def hook(module, args, output):
            seen[name] = value_of(args, output)
        return hook

    model.teacher.detector.roi_head.bbox_roi_extractor.register_forward_hook(
        record('teacher_rois', lambda args, out: args[1].clone()))
    model.student.roi_head.bbox_roi_extractor.register_forward_hook(
        record('student_rois', lambda args, out: args[1].clone()))
    model.student.roi_head.bbox_head.register_forward_hook(
        record('student_out', lambda args, out: [o.detach().clone() for o in out]))
    model.teacher.detector.roi_head.bbox_head.register_forward_hook(
        record('teacher_out', lambda args, out: [o.detach().clone() for o in out]))
    inputs, samples = fake_batch()
    step = model.distill_step(inputs, samples)
    losses = step.losses
    assert torch.equal(seen['teacher_rois'], seen['student_rois'])
    (s_cls, s_reg), (t_cls, t_reg) = seen['student_out'], seen['teacher_out']
    n = seen['teacher_rois'].shape[0]
    assert n == s_cls.shape[0] == t_cls.shape[0] == 2 * 128   # sampler num, both images

    # soft term: every sampled RoI, background (last of 8 + 1 classes) weighted 2.0,
    # normalised by the sampled count like the student's own loss_cls
    weights = torch.ones(9)
    weights[8] = 2.0
    soft = soft_ce_by_hand(s_cls, t_cls, 2.0, weights).sum() / n
    assert losses['loss_rcnn_kd_cls'].item() == pytest.approx(3.0 * 0.75 * soft.item(), rel=1e-5)

    # bounded term on the student's own targets (mmdet's, recorded for its loss): each
    # positive RoI's deltas of its GT class, per RoI on/off, normalised by the RoI count
    labels, label_weights, targets, _ = \
        step.student_records[2]['bbox']['result']['bbox_targets']
    assert bool((label_weights > 0).all())     # every scored RoI is a sampled one
    bounded = 0.0
    for i in range(n):
        c = int(labels[i])
        if c >= 8:
            continue
        s_err = float(((s_reg[i, 4 * c:4 * c + 4] - targets[i]) ** 2).sum())
        t_err = float(((t_reg[i, 4 * c:4 * c + 4] - targets[i]) ** 2).sum())
        bounded += s_err if s_err > t_err else 0.0
    assert 0 < int((labels < 8).sum()) < n and bounded > 0
    assert losses['loss_rcnn_kd_reg'].item() == pytest.approx(3.0 * 0.75 * bounded / n, rel=1e-5)


def test_each_term_trains_its_own_student_part_and_never_the_teacher(teacher_checkpoint):
    model = build_hint(teacher_checkpoint)
    model.train()
    inputs, samples = fake_batch()
    samples[1].gt_instances = samples[1].gt_instances[:0]        # an image without GT
    losses = model.loss(inputs, samples)
    student = model.student
    rpn, bbox = student.rpn_head, student.roi_head.bbox_head
    # each term reaches the output layer it distils and not the other stage's head
    expected = {'loss_rpn_kd_cls': (rpn.rpn_cls, [rpn.rpn_reg, bbox]),
                'loss_rpn_kd_reg': (rpn.rpn_reg, [rpn.rpn_cls, bbox]),
                'loss_rcnn_kd_cls': (bbox.fc_cls, [bbox.fc_reg, rpn]),
                'loss_rcnn_kd_reg': (bbox.fc_reg, [bbox.fc_cls, rpn]),
                'loss_hint': (model.distillers[0].adapters, [rpn, bbox])}
    for name, (trained, untouched) in expected.items():
        assert grad_norm(losses[name], trained) > 0, name
        assert grad_norm(losses[name], student.neck) > 0, name
        for module in untouched:
            assert grad_norm(losses[name], module) == 0, (name, module)
    loss, logs = model.parse_losses(losses)
    assert all(name in logs for name in expected)
    loss.backward()
    teacher_params = list(model.teacher.detector.parameters())
    assert teacher_params and all(not p.requires_grad and p.grad is None for p in teacher_params)
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
    step = model.train().distill_step(*fake_batch())
    records, teacher_records = step.student_records[2], step.teacher_records[2]
    labels, _, targets, _ = records['bbox']['result']['bbox_targets']
    s_reg = records['bbox']['inputs']['bbox_pred'].detach()      # (n, 4 * 8)
    t_reg = teacher_records['bbox_pred']                          # (n, 4): agnostic
    assert s_reg.shape[1] == 32 and t_reg.shape[1] == 4
    bounded = 0.0
    for i in range(len(labels)):
        c = int(labels[i])
        if c < 8:
            s_err = float(((s_reg[i, 4 * c:4 * c + 4] - targets[i]) ** 2).sum())
            t_err = float(((t_reg[i] - targets[i]) ** 2).sum())
            bounded += s_err if s_err > t_err else 0.0
    assert bounded > 0
    assert step.losses['loss_rcnn_kd_reg'].item() == \
        pytest.approx(0.5 * bounded / len(labels), rel=1e-5)


def roi_records(student_reg, teacher_reg, labels, targets, num_classes):
    n = len(labels)
    torch.manual_seed(1)
    student = dict(bbox=dict(
        inputs=dict(cls_score=torch.randn(n, num_classes + 1), bbox_pred=student_reg),
        result=dict(bbox_targets=(labels, torch.ones(n), targets, torch.ones(n, 4)))))
    teacher = dict(cls_score=torch.randn(n, num_classes + 1), bbox_pred=teacher_reg)
    return student, teacher


def test_bounded_term_reads_the_gt_class_deltas_of_the_class_specific_side():
    kd = RoIHeadKD(nu=0.5)
    kd.num_classes = 3
    labels = torch.tensor([2, 1, 3, 0])          # 3 = background
    torch.manual_seed(0)
    targets = torch.randn(4, 4)
    # student class-specific, teacher agnostic; the teacher regresses every RoI exactly, so
    # each positive counts with the error of its GT-class student deltas
    kd._agnostic = [False, True]
    s_reg = torch.randn(4, 12)
    student, teacher = roi_records(s_reg, targets.clone(), labels, targets, 3)
    expected = sum(float(((s_reg[i, 4 * c:4 * c + 4] - targets[i]) ** 2).sum())
                   for i, c in ((0, 2), (1, 1), (3, 0)))
    assert kd.loss(student, teacher)['loss_rcnn_kd_reg'].item() == \
        pytest.approx(0.5 * expected / 4, rel=1e-6)

    # student agnostic, teacher class-specific: the teacher's GT-class deltas decide
    kd._agnostic = [True, False]
    s_reg = targets + 1.0                          # error 4 on every RoI
    t_reg = torch.full((4, 12), 100.0)             # far off in every class...
    t_reg[0, 8:12] = targets[0]                    # ...but exact in RoI 0's GT class (2)
    t_reg[1, 0:4] = targets[1]                     # RoI 1 (class 1): exact in class 0 only
    student, teacher = roi_records(s_reg, t_reg, labels, targets, 3)
    assert kd.loss(student, teacher)['loss_rcnn_kd_reg'].item() == \
        pytest.approx(0.5 * 4.0 / 4, rel=1e-6)     # RoI 0 only


def write_teacher(tmp_path, edit):
    teacher = model_config(TEACHER_CONFIG)
    edit(teacher)
    path = tmp_path / 'teacher.py'
    Config(dict(model=teacher)).dump(str(path))
    return str(path)


@pytest.mark.parametrize('key, value, index, student_value', [
    ('roi_head.bbox_head.bbox_coder.target_stds', [0.2, 0.2, 0.4, 0.4], 2,
     [0.1, 0.1, 0.2, 0.2]),
    ('rpn_head.bbox_coder.target_means', [0.5, 0.0, 0.0, 0.0], 1, [0.0, 0.0, 0.0, 0.0])])
def test_different_box_coding_is_refused_at_build(teacher_checkpoint, tmp_path, key, value,
                                                  index, student_value):
    *owner, name = key.split('.')

    def edit(cfg):
        for part in owner:
            cfg = cfg[part]
        cfg[name] = value

    path = write_teacher(tmp_path, edit)     # same weights: the teacher checkpoint still loads
    with pytest.raises(ValueError) as err:
        build_hint(teacher_checkpoint, teacher=path)
    message = str(err.value)
    assert f'model.distillers[{index}]' in message and key in message
    assert str(student_value) in message and str(value) in message


def test_equal_box_coding_written_differently_is_accepted(teacher_checkpoint, tmp_path):
    def edit(cfg):   # the same values as tuples (mmdet's own defaults are tuples)
        cfg.roi_head.bbox_head.bbox_coder.target_stds = (0.1, 0.1, 0.2, 0.2)
        cfg.rpn_head.bbox_coder.target_means = (0, 0, 0, 0)

    model = build_hint(teacher_checkpoint, teacher=write_teacher(tmp_path, edit))
    assert model.distillers[2].num_classes == 8


def test_rpn_soft_term_is_normalised_like_the_hard_loss_with_a_pseudo_sampler(
        teacher_checkpoint, tmp_path):
    def pseudo(cfg):
        cfg.train_cfg.rpn.sampler = dict(type='PseudoSampler')

    teacher = write_teacher(tmp_path, pseudo)
    cfg = Config.fromfile(HINT_CONFIG).model
    cfg.teacher = dict(config=teacher, checkpoint=teacher_checkpoint)
    pseudo(cfg.student)
    cfg.distillers[1].update(mu=0.25, temperature=2.0, bg_weight=2.0, loss_weight=3.0)
    model = MODELS.build(cfg).train()
    seen = {}
    for side, head in (('student', model.student.rpn_head),
                       ('teacher', model.teacher.detector.rpn_head)):
        head.register_forward_hook(lambda m, args, out, side=side: seen.__setitem__(
            side, [[level.detach().clone() for level in maps] for maps in out]))
    step = model.distill_step(*fake_batch())
    labels, label_weights = step.student_records[1]['targets']['result'][:2]
    s_cls, t_cls = seen['student'][0], seen['teacher'][0]

    # per level, per image: (A, H, W) maps -> anchors in mmdet's (H, W, A) order
    soft, hard, counted, positives = 0.0, 0.0, 0, [0, 0]
    for level, (s_map, t_map) in enumerate(zip(s_cls, t_cls)):
        for img in range(2):
            s = s_map[img].permute(1, 2, 0).reshape(-1)
            t = t_map[img].permute(1, 2, 0).reshape(-1)
            y, w = labels[level][img], label_weights[level][img]
            keep = w > 0
            p_t = torch.sigmoid(t / 2.0)           # object probability, sigmoid RPN
            ce = -(p_t * F.logsigmoid(s / 2.0) + 2.0 * (1 - p_t) * F.logsigmoid(-s / 2.0))
            soft += float(ce[keep].sum())
            obj = (y == 0).float()                 # RPN labels: 0 object, 1 background
            hard += float((w * F.binary_cross_entropy_with_logits(s, obj, reduction='none'))
                          .sum())
            counted += int(keep.sum())
            positives[img] += int(((y == 0) & keep).sum())
    avg_factor = sum(max(p, 1) for p in positives)     # PseudoSampler: the positives
    assert 0 < avg_factor < counted / 10
    # the student's hard loss is normalised by that factor (and scaled by mu)...
    hard_loss = sum(float(v) for v in step.losses['loss_rpn_cls'])
    assert hard_loss == pytest.approx(0.25 * hard / avg_factor, rel=1e-4)
    # ...and so is the soft term, over every anchor with a weight
    assert step.losses['loss_rpn_kd_cls'].item() == \
        pytest.approx(3.0 * 0.75 * soft / avg_factor, rel=1e-4)


def test_feature_hint_is_gamma_times_the_level_mean_of_adapted_distances():
    torch.manual_seed(0)
    sizes = [(8, 8), (4, 4), (2, 2)]
    student = tuple(torch.randn(2, 3, h, w) for h, w in sizes)
    teacher = tuple(torch.randn(2, 5, h, w) for h, w in sizes)
    for distance, dist in (('l2', lambda d: d ** 2), ('l1', lambda d: d.abs())):
        hint = FeatureHint(loss_weight=0.7, distance=distance)
        hint.setup(dict(feats=student), dict(feats=teacher))
        per_level = []
        for adapter, v, z in zip(hint.adapters, student, teacher):
            conv = adapter[0]
            assert conv.weight.shape == (5, 3, 1, 1)
            per_level.append(dist(F.conv2d(v, conv.weight, conv.bias) - z).mean())
        expected = 0.7 * sum(per_level) / len(per_level)
        loss = hint(dict(feats=student), dict(feats=teacher))['loss_hint']
        assert loss.item() == pytest.approx(expected.item(), rel=1e-6), distance


def test_feature_hint_averages_levels_instead_of_summing():
    torch.manual_seed(0)
    v, z = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6)
    one = FeatureHint(loss_weight=1.0)
    one.setup(dict(feats=(v,)), dict(feats=(z,)))
    five = FeatureHint(loss_weight=1.0)
    five.setup(dict(feats=(v,) * 5), dict(feats=(z,) * 5))
    for adapter in five.adapters:
        adapter.load_state_dict(one.adapters[0].state_dict())
    single = one(dict(feats=(v,)), dict(feats=(z,)))['loss_hint']
    pyramid = five(dict(feats=(v,) * 5), dict(feats=(z,) * 5))['loss_hint']
    assert single.item() > 0 and pyramid.item() == pytest.approx(single.item(), rel=1e-6)


# ---- RPNKD on hand-built records: anchors in mmdet's order (levels, images, H, W, A)
LEVELS, IMAGES, A = [(3, 4), (2, 2)], 2, 3


def anchor_index(y, x, a, width):
    """Row of anchor ``a`` at cell (y, x) in one image's targets of a level."""
    return (y * width + x) * A + a


def test_anchor_index_is_mmdets_anchor_order():
    from mmdet.models.task_modules import AnchorGenerator
    generator = AnchorGenerator(strides=[4, 8], ratios=[0.5, 1.0, 2.0], scales=[4])
    anchors = generator.grid_priors(LEVELS, device='cpu')
    for level, (h, w) in enumerate(LEVELS):
        stride = generator.strides[level][0]
        for y, x, a in ((0, 1, 2), (1, 0, 1), (h - 1, w - 1, 0)):
            shift = torch.tensor([x, y, x, y], dtype=torch.float32) * stride
            assert torch.equal(anchors[level][anchor_index(y, x, a, w)],
                               generator.base_anchors[level][a] + shift)


def rpn_records(channels, seed=0):
    """Random per-level score maps (N, A*channels, H, W) and delta maps (N, 4A, H, W) of both
    models, and empty targets (background, weight 0) as mmdet lays them out per level."""
    g = torch.Generator().manual_seed(seed)
    maps = {key: [torch.randn(IMAGES, A * c, h, w, generator=g) for h, w in LEVELS]
            for key, c in (('s_cls', channels[0]), ('t_cls', channels[1]), ('s_reg', 4),
                           ('t_reg', 4))}
    count = [h * w * A for h, w in LEVELS]
    targets = [[torch.ones(IMAGES, n, dtype=torch.long) for n in count],
               [torch.zeros(IMAGES, n) for n in count],
               [torch.zeros(IMAGES, n, 4) for n in count],
               [torch.zeros(IMAGES, n, 4) for n in count]]
    return maps, targets


def rpn_loss(kd, maps, targets, avg_factor, sigmoid):
    kd._sigmoid = list(sigmoid)
    student = dict(outputs=(maps['s_cls'], maps['s_reg']),
                   targets=dict(result=(*targets, avg_factor)))
    return kd(student, dict(cls=maps['t_cls'], reg=maps['t_reg']))


# (level, image, y, x, anchor)
SAMPLED = [(1, 1, 1, 0, 2), (0, 0, 2, 3, 1), (0, 1, 0, 2, 0)]


def mark_sampled(targets):
    for level, img, y, x, a in SAMPLED:
        targets[1][level][img, anchor_index(y, x, a, LEVELS[level][1])] = 1.0


def object_and_background(score, level, img, y, x, a, sigmoid):
    """(object, background) probabilities at T from one model's raw map, by hand."""
    if sigmoid:
        z = score[level][img, a, y, x]
        return torch.sigmoid(z), 1 - torch.sigmoid(z)
    pair = score[level][img, 2 * a:2 * a + 2, y, x]   # mmdet's softmax RPN: (object, bg)
    p = pair.exp() / pair.exp().sum()
    return p[0], p[1]


@pytest.mark.parametrize('sigmoid', [(True, True), (False, False), (True, False)])
def test_rpn_soft_term_reads_exactly_the_sampled_anchors(sigmoid):
    T, bg_weight = 2.0, 1.5
    maps, targets = rpn_records([1 if s else 2 for s in sigmoid])
    mark_sampled(targets)
    expected = 0.0
    for where in SAMPLED:
        obj_s, bg_s = object_and_background([m / T for m in maps['s_cls']], *where, sigmoid[0])
        obj_t, bg_t = object_and_background([m / T for m in maps['t_cls']], *where, sigmoid[1])
        expected -= float(bg_weight * bg_t * torch.log(bg_s) + obj_t * torch.log(obj_s))
    kd = RPNKD(temperature=T, mu=0.25, bg_weight=bg_weight, loss_weight=2.0)
    out = rpn_loss(kd, maps, targets, avg_factor=5, sigmoid=sigmoid)
    assert out['loss_rpn_kd_cls'].item() == pytest.approx(2.0 * 0.75 * expected / 5, rel=1e-5)
    assert out['loss_rpn_kd_reg'].item() == 0.0       # no positive anchor


def test_mmdet_softmax_rpn_orders_object_then_background():
    """The convention the softmax branch relies on: mmdet's own RPN loss with one object
    anchor is -log of the softmax of its channel pair (2a, 2a + 1) at index 0."""
    from mmdet.models.dense_heads import RPNHead
    head = RPNHead(in_channels=4, num_classes=1, anchor_generator=dict(
        type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0], strides=[4]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    assert head.cls_out_channels == 2
    maps, targets = rpn_records([2, 2])
    y, x, a = 2, 1, 1
    row = anchor_index(y, x, a, LEVELS[0][1])
    labels, weights = targets[0][0].clone(), targets[1][0].clone()
    labels[1, row], weights[1, row] = 0, 1.0          # image 1: one object anchor
    loss_cls, _ = head.loss_by_feat_single(
        maps['s_cls'][0], maps['s_reg'][0], None, labels, weights, targets[2][0],
        targets[3][0], avg_factor=1)
    pair = maps['s_cls'][0][1, 2 * a:2 * a + 2, y, x]
    assert loss_cls.item() == pytest.approx(-float(torch.log_softmax(pair, 0)[0]), rel=1e-5)


def test_rpn_bounded_term_reads_exactly_the_positive_anchors():
    maps, targets = rpn_records([1, 1])
    s_reg, t_reg = maps['s_reg'], maps['t_reg']
    on, off = (0, 1, 1, 2, 0), (1, 0, 0, 1, 1)         # (level, image, y, x, anchor)
    for level, img, y, x, a in (on, off):
        row = anchor_index(y, x, a, LEVELS[level][1])
        targets[0][level][img, row] = 0
        targets[1][level][img, row] = 1.0
        targets[3][level][img, row] = 1.0
    level, img, y, x, a = on       # target = the teacher's deltas: the student is worse
    target_on = t_reg[level][img, 4 * a:4 * a + 4, y, x].clone()
    targets[2][level][img, anchor_index(y, x, a, LEVELS[level][1])] = target_on
    student_on = s_reg[level][img, 4 * a:4 * a + 4, y, x]
    level, img, y, x, a = off      # target next to the student's deltas: the teacher is worse
    targets[2][level][img, anchor_index(y, x, a, LEVELS[level][1])] = \
        s_reg[level][img, 4 * a:4 * a + 4, y, x] + 0.01
    kd = RPNKD(nu=0.75, loss_weight=2.0)
    out = rpn_loss(kd, maps, targets, avg_factor=4, sigmoid=(True, True))
    expected = float(((student_on - target_on) ** 2).sum())
    assert expected > 0.1
    assert out['loss_rpn_kd_reg'].item() == pytest.approx(2.0 * 0.75 * expected / 4, rel=1e-5)
