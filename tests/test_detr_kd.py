"""DETR-family students: each of mmdet 3.3's families distils at the neck from a DETR and a CNN
teacher; KD-DETR's distillation points (each family's decoder run on extra queries) and its
losses against the formula written out here."""
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

from conftest import STUDENT_CONFIG, TEACHER_CONFIG
from detr_models import DETR_FAMILY, tiny_detr
from mmkd.models.detr_queries import decoder_queries, run_transformer_inputs
from mmkd.models.teacher import load_model_config
from mmkd.models.losses import matched_logit_losses, query_kd_losses
from mmkd.registry import MODELS
from test_distill_detector import fake_batch

FAMILIES = list(DETR_FAMILY)


def saved_detr(tmp_path, family, seed=0, config=None):
    """A tiny ``family`` detector (or one of ``config``) at initial weights (seed ``seed``),
    saved as a checkpoint."""
    torch.manual_seed(seed)
    model = MMDET_MODELS.build(config or tiny_detr(family))
    model.init_weights()
    path = str(tmp_path / f'{family}_{seed}.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def distill_detr(student, teacher_config, checkpoint, distillers):
    """A DistillDetector initialised as the Runner does (``init_weights``: a DETR left at
    PyTorch's default initialisation can give NaN boxes)."""
    model = MODELS.build(dict(type='mmkd.DistillDetector', student=student,
                              teacher=dict(config=teacher_config, checkpoint=checkpoint),
                              distillers=distillers))
    model.init_weights()
    return model


def quiet_train(model, student=None):
    """``model`` in training mode but its student's parts in eval mode (no dropout, batch norm
    on its running statistics): the detector still trains (DINO's denoising queries, say),
    yet a step is as deterministic as the teacher's forward."""
    model.train()
    for module in (student or model.student).children():
        module.eval()
    return model


@pytest.mark.parametrize('family', FAMILIES)
def test_a_detectors_own_queries_given_as_points_are_answered_as_in_its_forward(family):
    """The points of a model's own queries, decoded through its family's DecoderQueries,
    give the class scores and boxes of its own forward_transformer and head: the points are
    read the way the detector reads its queries."""
    torch.manual_seed(0)
    model = MMDET_MODELS.build(tiny_detr(family))
    model.init_weights()
    model.eval()
    inputs, samples = fake_batch(size=64)
    queries = decoder_queries(model)
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        decoder_inputs = run_transformer_inputs(model, feats, samples)
        scores, boxes = queries.decode(model, decoder_inputs,
                                       queries.own_points(model, decoder_inputs))
        head_inputs = model.forward_transformer(feats, samples)
        own_scores, own_boxes = model.bbox_head(
            *[head_inputs[key] for key in ('hidden_states', 'references') if key in head_inputs])
    assert scores.shape == own_scores.shape and scores.shape[:3] == (2, 2, 12)
    torch.testing.assert_close(scores, own_scores, atol=1e-5, rtol=0)
    torch.testing.assert_close(boxes, own_boxes, atol=1e-5, rtol=0)


def xyxy_by_hand(box):
    """A normalised (cx, cy, w, h) box as (x1, y1, x2, y2)."""
    return np.array([box[0] - box[2] / 2, box[1] - box[3] / 2, box[0] + box[2] / 2,
                     box[1] + box[3] / 2])


def giou_by_hand(a, b):
    """GIoU of two (cx, cy, w, h) boxes: IoU minus the hull's area outside the union, over it."""
    a, b = xyxy_by_hand(a), xyxy_by_hand(b)
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    union = area_a + area_b - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


def kd_detr_by_hand(student_scores, student_boxes, teacher_scores, teacher_boxes, temperature,
                    sigmoid):
    """KD-DETR's three terms, point by point (NumPy): w_i = max_c p_t(c) (sigmoid, or softmax
    without the no-object score); cls = sum_l sum_i w_i T^2 KL(q_i || p_li) / C with q, p the
    softmax of the scores / T; l1 and giou the w-weighted means of |b - b_t|_1 / 4 and
    1 - GIoU, summed over the layers."""
    s, sb = student_scores.numpy().astype(np.float64), student_boxes.numpy().astype(np.float64)
    t, tb = teacher_scores.numpy().astype(np.float64), teacher_boxes.numpy().astype(np.float64)

    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    weights = [(1 / (1 + np.exp(-row))).max() if sigmoid else softmax(row)[:-1].max()
               for row in t]
    cls = l1 = g = 0.0
    for layer in range(s.shape[0]):
        for i, w in enumerate(weights):
            q, p = softmax(t[i] / temperature), softmax(s[layer, i] / temperature)
            cls += w * temperature ** 2 * (q * np.log(q / p)).sum() / t.shape[1]
            l1 += w * np.abs(sb[layer, i] - tb[i]).mean() / sum(weights)
            g += w * (1 - giou_by_hand(sb[layer, i], tb[i])) / sum(weights)
    return cls, l1, g


@pytest.mark.parametrize('sigmoid', [True, False])
def test_kd_detr_losses_follow_the_formula(sigmoid):
    """query_kd_losses against the formula point by point; the teacher gets no gradient and
    a point the teacher is sure of weighs more than one it doubts."""
    torch.manual_seed(3)
    student_scores = torch.randn(3, 7, 5, requires_grad=True)
    teacher_scores = torch.randn(7, 5) * 3
    teacher_scores.requires_grad_()
    centres = torch.rand(3, 7, 2) * 0.6 + 0.2
    student_boxes = torch.cat([centres, torch.rand(3, 7, 2) * 0.3 + 0.05], dim=-1)
    teacher_boxes = torch.cat([torch.rand(7, 2) * 0.6 + 0.2, torch.rand(7, 2) * 0.3 + 0.05], -1)
    losses = query_kd_losses(student_scores, student_boxes, teacher_scores, teacher_boxes,
                             temperature=10.0, sigmoid=sigmoid)
    expected = kd_detr_by_hand(student_scores.detach(), student_boxes, teacher_scores.detach(),
                               teacher_boxes, 10.0, sigmoid)
    for name, value in zip(('cls', 'l1', 'giou'), expected):
        assert losses[name].item() == pytest.approx(value, rel=1e-5), name
    sum(losses.values()).backward()
    assert teacher_scores.grad is None and student_scores.grad.abs().sum() > 0


def test_kd_detr_weights_points_by_the_teachers_confidence():
    """Two points with the same softened distributions (scores 12 apart: softmax does not
    see a shift): the one the teacher is sure of (best score 6) costs more than the one it
    doubts (-6), by the ratio of the two confidences."""
    teacher_scores = torch.tensor([[6., -9.], [-6., -21.]])
    student_scores = teacher_scores + torch.tensor([[1., -1.]])
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.2]] * 2)
    each = [query_kd_losses(student_scores[None, [i]], boxes[None, [i]], teacher_scores[[i]],
                            boxes[[i]], 10.0, sigmoid=True)['cls'] for i in (0, 1)]
    confidence = torch.tensor([6., -6.]).sigmoid()
    kl = [(each[i] / confidence[i]).item() for i in (0, 1)]
    assert each[0] > 100 * each[1]
    assert kl[0] == pytest.approx(kl[1], rel=1e-3)


@pytest.mark.parametrize('family', FAMILIES)
def test_kd_detr_on_a_student_equal_to_its_teacher_costs_nothing_and_leaves_its_loss(
        tmp_path, family):
    """A student with its teacher's weights answers the points as its teacher does: with one
    decoder layer (each student layer learns the teacher's last) every KD-DETR term is zero,
    which holds only if both decode the same points. Its own detection
    losses are those of the student trained alone (the points run in a pass of their own),
    and the distillation's gradient reaches its decoder and encoder, never the teacher."""
    def config():    # a new one each time: building a DETR edits its config
        return tiny_detr(family, num_layers=1)
    checkpoint = saved_detr(tmp_path, family, config=config())
    model = distill_detr(config(), config(), checkpoint,
                         [dict(type='mmkd.KDDETR', num_general=6, num_specific=5)])
    model.student.load_state_dict(model.teacher.detector.state_dict())
    alone = MMDET_MODELS.build(config())
    alone.load_state_dict(model.teacher.detector.state_dict())
    inputs, samples = fake_batch(size=64)
    torch.manual_seed(1)
    losses = quiet_train(model).loss(inputs, samples)
    torch.manual_seed(1)
    own = quiet_train(alone, alone).loss(inputs, [sample.clone() for sample in samples])
    names = [f'loss_kddetr_{kind}_{term}' for kind in ('general', 'specific')
             for term in ('cls', 'l1', 'giou')]
    assert sorted(name for name in losses if 'kddetr' in name) == sorted(names)
    for name in names:
        assert abs(losses[name].item()) < 1e-5, (name, losses[name].item())
    for name, value in own.items():
        torch.testing.assert_close(losses[name], value, rtol=0, atol=0, msg=name)

    # a student away from its teacher: the terms are positive and train decoder and encoder
    with torch.no_grad():
        for param in model.student.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    losses = quiet_train(model).loss(inputs, samples)
    sum(losses[name] for name in names).backward()
    assert losses['loss_kddetr_general_cls'] > 0 and losses['loss_kddetr_specific_cls'] > 0
    for part in ('decoder', 'encoder'):
        grads = [p.grad for p in getattr(model.student, part).parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), part
    assert all(p.grad is None for p in model.teacher.detector.parameters())


@pytest.mark.parametrize('family', ['detr', 'dino'])
def test_kd_detr_specific_points_are_the_teachers_highest_scoring_queries(tmp_path, family):
    """The specific points are the teacher's own queries of the step, the num_specific it
    scores highest, found here from its own forward; the general points are new each step."""
    checkpoint = saved_detr(tmp_path, family)
    model = distill_detr(tiny_detr(family), tiny_detr(family), checkpoint,
                         [dict(type='mmkd.KDDETR', num_general=4, num_specific=3)])
    inputs, samples = fake_batch(size=64)
    steps = [model.train().distill_step(inputs, samples).teacher_records[0] for _ in range(2)]
    teacher = model.teacher.detector
    with torch.no_grad():
        feats = teacher.extract_feat(inputs)
        decoder_inputs = run_transformer_inputs(teacher, feats, samples)
        head_inputs = teacher.forward_transformer(feats, samples)
        scores, _ = teacher.bbox_head(
            *[head_inputs[key] for key in ('hidden_states', 'references') if key in head_inputs])
    last = scores[-1]
    confidence = last.sigmoid().max(-1).values if family == 'dino' else \
        last.softmax(-1)[..., :-1].max(-1).values
    own = decoder_queries(teacher).own_points(teacher, decoder_inputs)
    for image in range(2):
        top = confidence[image].argsort(descending=True)[:3]
        torch.testing.assert_close(steps[0]['specific']['points'][image], own[image, top])
    assert steps[0]['general']['points'].shape == (2, 4, own.shape[-1])
    assert not torch.equal(steps[0]['general']['points'], steps[1]['general']['points'])


def test_kd_detr_names_what_does_not_pair(tmp_path, teacher_checkpoint):
    """Points of another kind, or a teacher outside the DETR family, fail at build naming both
    sides."""
    checkpoint = saved_detr(tmp_path, 'dab_detr')
    with pytest.raises(ValueError, match=r"model.distillers\[0\] \(mmkd.KDDETR\): KDDETR feeds "
                                         r"both decoders the same points.*student DETR "
                                         r"\(embedding points of 32 values.*teacher DABDETR "
                                         r"\(box points of 4 values"):
        distill_detr(tiny_detr('detr'), tiny_detr('dab_detr'), checkpoint,
                     [dict(type='mmkd.KDDETR')])
    with pytest.raises(ValueError, match=r'the teacher \(FasterRCNN\) is not a DETR-family '
                                         r'detector'):
        distill_detr(tiny_detr('dino'), TEACHER_CONFIG, teacher_checkpoint,
                     [dict(type='mmkd.KDDETR')])


@pytest.mark.parametrize('family', FAMILIES)
def test_every_detr_family_student_distils_its_neck_from_a_detr_and_a_cnn_teacher(
        tmp_path, teacher_checkpoint, family):
    """Each family of mmdet 3.3's DETRs as a student of PKD on its neck: from a teacher of its
    own family and from the shapes Faster R-CNN (levels paired by stride); a step trains the
    student's neck."""
    teachers = [(tiny_detr(family), saved_detr(tmp_path, family, seed=1)),
                (TEACHER_CONFIG, teacher_checkpoint)]
    for teacher_config, checkpoint in teachers:
        model = distill_detr(tiny_detr(family), teacher_config, checkpoint,
                             [dict(type='mmkd.PKD', student='neck', teacher='neck')])
        inputs, samples = fake_batch(size=64)
        losses = model.train().loss(inputs, samples)
        losses['loss_pkd'].backward()
        assert losses['loss_pkd'].item() > 0
        grads = [p.grad for p in model.student.neck.parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_a_cnn_student_distils_its_neck_from_a_detr_teacher(tmp_path):
    """The other direction, as configs/pkd_dino_to_frcnn_shapes.py: the shapes Faster R-CNN
    student takes PKD from a DINO teacher's neck on the strides they share (DINO's 8-64 of the
    FPN's 4-64), through connectors to the teacher's width; a step trains the student's
    neck."""
    checkpoint = saved_detr(tmp_path, 'dino')
    model = distill_detr(load_model_config(STUDENT_CONFIG), tiny_detr('dino'), checkpoint,
                         [dict(type='mmkd.PKD', student='neck', teacher='neck')])
    pkd = model.distillers[0]
    assert [pair.stride for pair in pkd.pairs] == [8, 16, 32, 64]
    assert {adapter[0].out_channels for adapter in pkd.adapters} == {256}
    inputs, samples = fake_batch(size=64)
    losses = model.train().loss(inputs, samples)
    losses['loss_pkd'].backward()
    grads = [p.grad for p in model.student.neck.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def hungarian_by_hand(s, sb, p, tb, sigmoid, weights=(1.0, 5.0, 2.0)):
    """DETRDistill's matched logits distillation for one image, by exhaustive search (NumPy):
    the one-to-one map of teacher predictions to student queries of least cost class + 5 L1 +
    2 (-GIoU) (class: the sum over the classes of BCE with the teacher's probabilities, or
    -sum p log softmax for softmax heads); then the three losses averaged over the pairs."""
    import itertools

    def class_loss(x, q):
        if sigmoid:
            return (np.log1p(np.exp(x)) - q * x).sum()
        return -(q * (x - np.log(np.exp(x).sum()))).sum()

    def cost(i, j):
        return (weights[0] * class_loss(s[i], p[j]) + weights[1] * np.abs(sb[i] - tb[j]).sum()
                - weights[2] * giou_by_hand(sb[i], tb[j]))

    best = min(itertools.permutations(range(len(s)), len(p)),
               key=lambda rows: sum(cost(i, j) for j, i in enumerate(rows)))
    pairs = list(zip(best, range(len(p))))
    return (sum(class_loss(s[i], p[j]) for i, j in pairs) / len(pairs),
            sum(np.abs(sb[i] - tb[j]).sum() for i, j in pairs) / len(pairs),
            sum(1 - giou_by_hand(sb[i], tb[j]) for i, j in pairs) / len(pairs))


@pytest.mark.parametrize('sigmoid', [True, False])
def test_hungarian_kd_matches_by_least_cost_and_follows_the_formula(sigmoid):
    """matched_logit_losses on 5 student queries and 3 teacher predictions, against the
    exhaustive search over every one-to-one map and the three losses written out."""
    torch.manual_seed(4)
    scores = torch.randn(1, 5, 4) * 2
    boxes = torch.cat([torch.rand(1, 5, 2) * 0.6 + 0.2, torch.rand(1, 5, 2) * 0.3 + 0.05], -1)
    logits = torch.randn(1, 3, 4) * 2
    probabilities = logits.sigmoid() if sigmoid else logits.softmax(-1)
    targets = torch.cat([torch.rand(1, 3, 2) * 0.6 + 0.2, torch.rand(1, 3, 2) * 0.3 + 0.05], -1)
    losses = matched_logit_losses(scores, boxes, probabilities, targets, sigmoid,
                                  dict(cls=1.0, l1=5.0, giou=2.0))
    expected = hungarian_by_hand(*(t[0].double().numpy() for t in (scores, boxes,
                                                                   probabilities, targets)),
                                 sigmoid)
    for name, value in zip(('cls', 'l1', 'giou'), expected):
        assert losses[name].item() == pytest.approx(value, rel=1e-5), name


@pytest.mark.parametrize('family', ['deformable_detr', 'dino'])
def test_hungarian_kd_on_a_student_equal_to_its_teacher_has_nothing_to_learn(tmp_path, family):
    """A student with its teacher's weights, layer by layer: each query is matched to its own
    prediction in the teacher (boxes at zero L1 and GIoU loss) and the class term is at its
    minimum (no gradient on the class scores); DINO's denoising queries stay out of it. A
    student away from its teacher learns in its decoder."""
    def config():
        return tiny_detr(family)
    checkpoint = saved_detr(tmp_path, family, config=config())
    model = distill_detr(config(), config(), checkpoint, [dict(type='mmkd.HungarianKD')])
    model.student.load_state_dict(model.teacher.detector.state_dict())
    inputs, samples = fake_batch(size=64)
    step = quiet_train(model).distill_step(inputs, samples)
    losses = step.losses
    assert losses['loss_hungarian_kd_l1'].item() < 1e-5
    assert losses['loss_hungarian_kd_giou'].item() < 1e-5
    scores = step.student_records[0]['outputs'][0]
    grad, = torch.autograd.grad(losses['loss_hungarian_kd_cls'], scores)
    assert grad.abs().max() < 1e-6
    matched, _ = model.distillers[0].student_queries.matching_part(
        model.student, step.student_records[0]['outputs'])
    assert matched.shape[2] == 12 and scores.shape[2] == (12 if family != 'dino' else 12 + 16)

    with torch.no_grad():
        for param in model.student.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    losses = quiet_train(model).loss(inputs, samples)
    sum(value for name, value in losses.items() if 'hungarian' in name).backward()
    assert losses['loss_hungarian_kd_l1'] > 0
    grads = [p.grad for p in model.student.decoder.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_hungarian_kd_names_what_does_not_pair(tmp_path):
    """Decoders of two depths layer by layer, or softmax scores against sigmoid ones, fail at
    build with what to change."""
    checkpoint = saved_detr(tmp_path, 'dab_detr', config=tiny_detr('dab_detr', num_layers=1))
    with pytest.raises(ValueError, match=r'student has 2 decoder layers and the teacher 1: set '
                                         r'layer_by_layer=False'):
        distill_detr(tiny_detr('dab_detr'), tiny_detr('dab_detr', num_layers=1), checkpoint,
                     [dict(type='mmkd.HungarianKD')])
    distill_detr(tiny_detr('dab_detr'), tiny_detr('dab_detr', num_layers=1), checkpoint,
                 [dict(type='mmkd.HungarianKD', layer_by_layer=False)])
    with pytest.raises(ValueError, match=r'student 8 classes, softmax; teacher 8, sigmoid'):
        distill_detr(tiny_detr('detr'), tiny_detr('dab_detr', num_layers=1), checkpoint,
                     [dict(type='mmkd.HungarianKD', layer_by_layer=False)])


def test_a_detr_distillation_config_builds_again(tmp_path):
    """mmdet's DETRs edit their config while they build; a DistillDetector config with DETR
    student and teacher builds a second time (a run, then tools/inspect_distill.py or a
    benchmark from the same config)."""
    checkpoint = saved_detr(tmp_path, 'dino')
    cfg = dict(type='mmkd.DistillDetector', student=tiny_detr('dino'),
               teacher=dict(config=tiny_detr('dino'), checkpoint=checkpoint),
               distillers=[dict(type='mmkd.HungarianKD')])
    for _ in range(2):
        MODELS.build(cfg)
    MMDET_MODELS.build(load_model_config(cfg['student']))
