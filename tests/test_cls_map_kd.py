import pytest
import torch
import torch.nn.functional as F

from mmkd.models.losses import cls_map_kd_loss, mining_threshold


def reference_kd_loss(teacher_output, student_output, alpha=50.0):
    """The seed's reference code (METHODS.md section 3), verbatim."""
    teacher_output = F.softmax(teacher_output, dim=-1)
    student_output = F.softmax(student_output, dim=-1)
    scale = 16.2  # when beta=6.4 and gamma=3.2
    beta = 6.4
    threshold = scale * torch.pow(torch.abs(teacher_output[:, :, 1] - 0.5), beta)
    mask = teacher_output[:, :, 1] > threshold
    t_feat = teacher_output[mask]
    f_feat = student_output[mask]
    loss = torch.nn.functional.mse_loss(t_feat, f_feat)
    return loss * alpha


def seed_mode(teacher_logits, student_logits):
    p_t, p_s = teacher_logits.softmax(-1), student_logits.softmax(-1)
    return cls_map_kd_loss(p_s, p_t, p_s[..., 1], p_t[..., 1], mode='seed')


def reference_adaptive_kd_loss(teacher_output, student_output, alpha=50.0):
    """The reference code with METHODS.md's adaptive mask |p_s - p_t| > T(p_t) instead of
    p_t > T(p_t)."""
    teacher_output = F.softmax(teacher_output, dim=-1)
    student_output = F.softmax(student_output, dim=-1)
    threshold = 16.2 * torch.pow(torch.abs(teacher_output[:, :, 1] - 0.5), 6.4)
    mask = (student_output[:, :, 1] - teacher_output[:, :, 1]).abs() > threshold
    return F.mse_loss(teacher_output[mask], student_output[mask]) * alpha


def reference_mask(teacher_output, student_output, mode):
    """Which rows the reference rule mimics, on (..., 2) logits (background, face)."""
    p_t = F.softmax(teacher_output, dim=-1)[..., 1]
    threshold = 16.2 * torch.pow(torch.abs(p_t - 0.5), 6.4)
    if mode == 'seed':
        return p_t > threshold
    return (F.softmax(student_output, dim=-1)[..., 1] - p_t).abs() > threshold


def two_way_rows(level_map, num_anchors, sigmoid):
    """One level's (N, A * C, H, W) logits -> (N, A, K, H, W, 2) logits in the reference's
    layout (background, face) per row.

    Softmax head (mmdet channel order: class, background; C = 2): one row per anchor (K = 1),
    flipped. Sigmoid head (C classes): one row per anchor and class (K = C), its 2-way view
    [0, z], as softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)].
    """
    n, _, h, w = level_map.shape
    per_anchor = level_map.reshape(n, num_anchors, -1, h, w)
    if sigmoid:
        return torch.stack([torch.zeros_like(per_anchor), per_anchor], dim=-1)
    return per_anchor.permute(0, 1, 3, 4, 2).flip(-1).unsqueeze(2)


def reference_on_maps(student_maps, teacher_maps, num_anchors, sigmoid, mode, alpha=50.0):
    """The reference rule on per-level classification maps of a dense head: (loss, mask per
    level in (N, A, K, H, W))."""
    s_rows = [two_way_rows(m, num_anchors, sigmoid) for m in student_maps]
    t_rows = [two_way_rows(m, num_anchors, sigmoid) for m in teacher_maps]
    n = student_maps[0].shape[0]
    s_all = torch.cat([r.reshape(n, -1, 2) for r in s_rows], dim=1)
    t_all = torch.cat([r.reshape(n, -1, 2) for r in t_rows], dim=1)
    reference = reference_kd_loss if mode == 'seed' else reference_adaptive_kd_loss
    masks = [reference_mask(t, s, mode) for s, t in zip(s_rows, t_rows)]
    return reference(t_all, s_all, alpha), masks


def mined_fraction(masks):
    return sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)


@pytest.mark.parametrize('shape', [(1, 7, 2), (2, 100, 2), (4, 1000, 2)])
def test_seed_mode_equals_reference_code(shape):
    torch.manual_seed(sum(shape))
    teacher, student = torch.randn(shape) * 3, torch.randn(shape) * 3
    expected = reference_kd_loss(teacher, student)
    loss, fraction = seed_mode(teacher, student)
    mask = reference_mask(teacher, student, 'seed')
    assert 0 < mask.sum() < mask.numel()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6, abs=1e-7)
    assert fraction.item() == pytest.approx(mask.sum().item() / mask.numel(), rel=1e-6)


def test_seed_mode_detaches_teacher_and_empty_selection_is_zero():
    teacher = torch.tensor([[[5.0, -5.0], [6.0, -6.0]]], requires_grad=True)   # p_face ~ 0
    student = torch.randn(1, 2, 2, requires_grad=True)
    assert torch.isnan(reference_kd_loss(teacher, student))       # the seed's quirk
    loss, fraction = seed_mode(teacher, student)
    assert loss.item() == 0.0 and fraction.item() == 0.0
    loss.backward()
    assert student.grad is not None and torch.all(student.grad == 0)
    assert teacher.grad is None


@pytest.mark.parametrize('scale, beta', [(16.2, 6.4), (10.0, 3.0)])
def test_mining_threshold_is_the_formula_on_random_probabilities(scale, beta):
    torch.manual_seed(3)
    p = torch.cat([torch.rand(1000), torch.tensor([0.0, 0.5, 1.0])])
    expected = [scale * abs(x - 0.5) ** beta for x in p.tolist()]
    assert mining_threshold(p, scale, beta).tolist() == pytest.approx(expected, rel=1e-5,
                                                                      abs=1e-12)


def test_seed_rule_is_one_cut_near_0_0715():
    """p > 16.2 |p - 0.5|^6.4 holds exactly above the root of p = 16.2 (0.5 - p)^6.4 in
    (0, 0.5) (found here by bisection): the rule keeps positives and uncertain anchors and
    drops easy negatives."""
    low, high = 0.0, 0.5
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if mid <= 16.2 * (0.5 - mid) ** 6.4 else (low, mid)
    assert high == pytest.approx(0.0715, abs=5e-4)
    p = torch.linspace(0, 1, 20001, dtype=torch.float64)
    p = p[(p - high).abs() > 1e-6]           # no grid point on the cut itself
    _, fraction = cls_map_kd_loss(p[:, None], p[:, None], p, p, mode='seed')
    # (one grid point is 5e-5 of the total; the fraction is a float32 mean)
    assert fraction.item() == pytest.approx((p > high).double().mean().item(), abs=1e-6)


def test_adaptive_mode_selects_disagreements_above_threshold():
    # T(0.5) = 0, T(0.9) = 16.2 * 0.4 ** 6.4 ~= 0.046, T(0.05) ~= 0.097
    p_t = torch.tensor([0.5, 0.5, 0.9, 0.9, 0.05, 0.05])
    p_s = torch.tensor([0.5, 0.51, 0.88, 0.80, 0.10, 0.20])
    threshold = mining_threshold(p_t)
    expected_mask = torch.tensor([False, True, False, True, False, True])
    assert torch.equal((p_s - p_t).abs() > threshold, expected_mask)   # the hand-built cases
    loss, fraction = cls_map_kd_loss(p_s[:, None], p_t[:, None], p_s, p_t, mode='adaptive',
                                     alpha=1.0)
    assert fraction.item() == pytest.approx(3 / 6)
    expected = ((p_s - p_t)[expected_mask] ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_unknown_mode_is_refused():
    p = torch.rand(3, 1)
    with pytest.raises(ValueError, match="mode='hard': choose from"):
        cls_map_kd_loss(p, p, p[:, 0], p[:, 0], mode='hard')


# --- ClsMapKD on RetinaNet face detectors -------------------------------------------------------
import os.path as osp  # noqa: E402

from mmengine.config import Config  # noqa: E402

from conftest import ROOT, model_config, save_fresh_checkpoint  # noqa: E402
from mmkd.datasets import wider_face_to_coco  # noqa: E402
from mmkd.models.distillers import ClsMapKD  # noqa: E402
from mmkd.registry import MODELS  # noqa: E402
from test_distill_detector import fake_batch  # noqa: E402
from test_hcl_abf import paper_reviewkd_loss  # noqa: E402

FACE_TEACHER = osp.join(ROOT, 'configs', 'retinanet_r18w32_teacher_faces.py')
CLSKD_CONFIG = osp.join(ROOT, 'configs', 'clskd_retinanet_face.py')
SOFTMAX_CLS = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)


def face_batch():
    inputs, samples = fake_batch()
    for sample in samples:
        sample.gt_instances.labels = sample.gt_instances.labels * 0
    return inputs, samples


def build_clskd(tmp_path, softmax=False, teacher_update=None, **distiller):
    teacher = model_config(FACE_TEACHER)
    cfg = Config.fromfile(CLSKD_CONFIG).model
    if softmax:
        teacher.bbox_head.loss_cls = SOFTMAX_CLS
        cfg.student.bbox_head.loss_cls = SOFTMAX_CLS
    if teacher_update:
        teacher_update(teacher)
    path = str(tmp_path / 'face_teacher.py')
    Config(dict(model=teacher)).dump(path)
    cfg.teacher = dict(config=path,
                       checkpoint=save_fresh_checkpoint(path, str(tmp_path / 'face_teacher.pth')))
    cfg.distillers[0].update(distiller)
    return MODELS.build(cfg)


# Heads as (num_classes, sigmoid): the reference's one-class softmax head, a one-class sigmoid
# head, and a two-class sigmoid head (each anchor and class its own 2-way row).
HEADS = dict(softmax=(1, False), sigmoid=(1, True), sigmoid_two_classes=(2, True))
NUM_ANCHORS = 9                  # RetinaHead's default anchors: 3 scales x 3 ratios


def models_with_heads(num_classes, sigmoid):
    """Student and teacher stand-ins holding only a RetinaHead, for ClsMapKD.setup."""
    from mmdet.models.dense_heads import RetinaHead
    models = []
    for _ in range(2):
        model = torch.nn.Module()
        model.bbox_head = RetinaHead(num_classes=num_classes, in_channels=4, stacked_convs=1,
                                     feat_channels=4,
                                     **({} if sigmoid else dict(loss_cls=SOFTMAX_CLS)))
        models.append(model)
    return models


@pytest.mark.parametrize('mode', ['seed', 'adaptive'])
@pytest.mark.parametrize('head', list(HEADS))
def test_distiller_is_the_reference_rule_on_known_maps(head, mode):
    """Per-level maps as the heads give them -> the reference rule on the 2-way rows: the loss,
    the fraction mined, and a gradient on exactly the mined anchors of the student only."""
    num_classes, sigmoid = HEADS[head]
    distiller = ClsMapKD(mode=mode, loss_weight=0.5)
    distiller.setup({}, {}, *models_with_heads(num_classes, sigmoid))
    channels = NUM_ANCHORS * (num_classes if sigmoid else num_classes + 1)
    sizes = ((6, 5), (3, 3))
    torch.manual_seed(0)
    s_maps = [(torch.randn(2, channels, h, w) * 3).requires_grad_() for h, w in sizes]
    t_maps = [(torch.randn(2, channels, h, w) * 3).requires_grad_() for h, w in sizes]
    reg_maps = [torch.zeros(2, 4 * NUM_ANCHORS, h, w) for h, w in sizes]

    out = distiller(dict(outputs=(s_maps, reg_maps)), dict(maps=t_maps))
    expected, masks = reference_on_maps(s_maps, t_maps, NUM_ANCHORS, sigmoid, mode)
    rows = sum(m.numel() for m in masks)
    assert rows == 2 * (30 + 9) * NUM_ANCHORS * (num_classes if sigmoid else 1)
    assert 0 < sum(int(m.sum()) for m in masks) < rows
    assert out['loss_cls_map_kd'].item() == pytest.approx(0.5 * expected.item(), rel=1e-5)
    assert out['cls_map_kd_mined'].item() == pytest.approx(mined_fraction(masks), rel=1e-6)

    # what tools/inspect_distill.py draws: per place, the fraction of its rows mined
    mined = distiller.mined_locations(dict(outputs=(s_maps, reg_maps)), dict(maps=t_maps))
    for level, mask in zip(mined, masks):
        torch.testing.assert_close(level, mask.float().mean(dim=(1, 2)))

    out['loss_cls_map_kd'].backward()
    assert all(t.grad is None for t in t_maps)
    for s_map, mask in zip(s_maps, masks):          # mask (N, A, K, H, W)
        n, _, h, w = s_map.shape
        grad = s_map.grad.reshape(n, NUM_ANCHORS, -1, h, w)
        has_grad = grad != 0 if sigmoid else (grad != 0).any(dim=2, keepdim=True)
        assert torch.equal(has_grad, mask)


def spread_teacher_scores(teacher):
    """A fresh RetinaNet scores every anchor alike (the prior-probability bias). Give the
    teacher's classifier random weights, scaled and shifted so that its logits on the face batch
    have mean 0 and std 3: the rule then keeps some anchors and drops others."""
    head = teacher.bbox_head
    torch.manual_seed(1)
    with torch.no_grad():
        head.retina_cls.weight.normal_()
        head.retina_cls.bias.zero_()
        logits = torch.cat([m.flatten() for m in head(teacher.extract_feat(face_batch()[0]))[0]])
        head.retina_cls.weight.mul_(3 / logits.std())
        head.retina_cls.bias.fill_(-3 * logits.mean().item() / logits.std().item())
        if not head.use_sigmoid_cls:      # (face, background) per anchor: favour background
            head.retina_cls.bias.view(-1, 2)[:, 1] += 2


def detector_cls_maps(model, inputs, samples):
    """Both classification maps by plain mmdet forwards (student in its train mode, teacher on
    its own normalisation of the batch)."""
    teacher = model.teacher.detector
    with torch.no_grad():
        student_maps = model.student.bbox_head(model.student.extract_feat(inputs))[0]
        teacher_maps = teacher.bbox_head(teacher.extract_feat(model.teacher.input(inputs,
                                                                                  samples)))[0]
    return student_maps, teacher_maps


@pytest.mark.parametrize('softmax', [False, True], ids=['sigmoid', 'softmax'])
@pytest.mark.parametrize('mode', ['seed', 'adaptive'])
def test_cls_map_kd_in_a_face_detector_is_the_rule_and_trains_the_students_classifier(
        tmp_path, softmax, mode):
    torch.manual_seed(0)         # the students' (and fresh teachers') initial weights
    model = build_clskd(tmp_path, softmax=softmax, mode=mode).train()
    distiller = model.distillers[0]
    assert distiller.sigmoid is not softmax
    spread_teacher_scores(model.teacher.detector)
    head = model.student.bbox_head
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    inputs, samples = face_batch()
    values, fractions = [], []
    for step in range(3):
        student_maps, teacher_maps = detector_cls_maps(model, inputs, samples)
        expected, masks = reference_on_maps(student_maps, teacher_maps, head.num_base_priors,
                                            not softmax, mode)
        assert 0 < mined_fraction(masks) < 1
        losses = model.loss(inputs, samples)
        loss = losses['loss_cls_map_kd']
        assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
        assert losses['cls_map_kd_mined'].item() == pytest.approx(mined_fraction(masks),
                                                                  rel=1e-6)
        optimizer.zero_grad()
        loss.backward()                  # the distill loss alone
        assert head.retina_cls.weight.grad.abs().sum() > 0
        assert head.retina_reg.weight.grad is None           # the regression map is not mimicked
        assert all(p.grad is None for p in model.teacher.parameters())
        optimizer.step()
        values.append(loss.item())
        fractions.append(losses['cls_map_kd_mined'].item())
    if mode == 'seed':       # the mask reads the teacher only: fixed anchors, an MSE that descends
        assert fractions[0] == fractions[1] == fractions[2]
        assert values[0] > values[1] > values[2]


def test_wider_face_converter_on_a_hand_written_sample(tmp_path):
    from PIL import Image
    for name, size in (('0--Parade/a.jpg', (64, 48)), ('0--Parade/b.jpg', (32, 32))):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.new('RGB', size).save(tmp_path / name)
    (tmp_path / 'gt.txt').write_text(
        '0--Parade/a.jpg\n3\n'
        '1 2 10 12 0 0 0 0 0 0 \n'
        '20 5 0 7 0 0 0 0 0 0 \n'          # zero width: dropped
        '30 6 8 8 2 0 0 1 0 0 \n'          # invalid: kept as crowd (ignored in eval)
        '0--Parade/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n')
    coco, counts = wider_face_to_coco(str(tmp_path / 'gt.txt'), str(tmp_path),
                                      str(tmp_path / 'out.json'))
    assert counts == dict(images=2, faces=1, ignored=1, dropped_empty_box=1)
    assert [a['bbox'] for a in coco['annotations']] == [[1, 2, 10, 12], [30, 6, 8, 8]]
    assert [a['iscrowd'] for a in coco['annotations']] == [0, 1]
    assert [(i['width'], i['height']) for i in coco['images']] == [(64, 48), (32, 32)]
    assert osp.isfile(tmp_path / 'out.json')


def test_reviewkd_on_a_retinanet_neck(tmp_path):
    """ReviewKD needs nothing but a neck returning levels: on RetinaNet's P2-P6 its loss is the
    paper's ABF chain and HCL on the two necks, with gradients into the student's neck and the
    connectors, none into the teacher."""
    build_clskd(tmp_path)       # writes the face teacher's config and checkpoint
    cfg = Config.fromfile(CLSKD_CONFIG).model
    cfg.teacher = dict(config=str(tmp_path / 'face_teacher.py'),
                       checkpoint=str(tmp_path / 'face_teacher.pth'))
    cfg.distillers = [dict(type='ReviewKD', loss_weight=1.3)]
    model = MODELS.build(cfg).train()
    abfs = model.distillers[0].abfs
    assert [abf.project[0].out_channels for abf in abfs] == [64] * 5
    inputs, samples = face_batch()
    loss = model.loss(inputs, samples)['loss_reviewkd']
    teacher = model.teacher.detector
    with torch.no_grad():
        student_feats = model.student.extract_feat(inputs)
        teacher_feats = teacher.extract_feat(model.teacher.input(inputs, samples))
        expected = paper_reviewkd_loss(abfs, student_feats, teacher_feats, 1.3)
    assert len(student_feats) == 5
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    loss.backward()
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in abfs.parameters())
    assert model.student.bbox_head.retina_cls.weight.grad is None
    assert all(p.grad is None for p in model.teacher.parameters())


def test_teacher_runs_only_the_classification_branch(tmp_path):
    """The teacher's RetinaHead skips its regression branch; its maps equal the full forward's."""
    from mmkd.models.distillers.cls_map_kd import classification_maps
    model = build_clskd(tmp_path)
    head = model.teacher.detector.bbox_head
    calls = []
    head.reg_convs[0].register_forward_hook(lambda *args: calls.append('reg'))
    feats = [torch.randn(2, 64, size, size) for size in (16, 8, 4, 2, 1)]
    with torch.no_grad():
        maps = classification_maps(head, feats)
        assert not calls
        full = head(feats)[0]
    assert all(torch.equal(m, f) for m, f in zip(maps, full))


def multiclass_softmax_reference(student_maps, teacher_maps, num_anchors, num_classes, mode,
                                 alpha=50.0):
    """The rule on a softmax head of ``num_classes`` classes + background, written out: per
    level, channel ``a * (C + 1) + k`` of the (N, A * (C + 1), H, W) map is anchor ``a``'s
    logit of class ``k`` (background last, k = C); each anchor's row of C + 1 probabilities is
    ``exp(z_k) / sum_j exp(z_j)``; the rule reads the foreground probability ``1 - p_bg``
    (seed: ``p_t > 16.2 |p_t - 0.5| ** 6.4``; adaptive: ``|p_s - p_t| >`` that); the loss is
    ``alpha`` times the mean squared difference over every entry (classes and background) of
    the mined rows. Returns (loss, mask per level in (N, A, H, W))."""
    def rows(level_map):
        n, _, h, w = level_map.shape
        z = level_map.double().reshape(n, num_anchors, num_classes + 1, h, w)
        e = (z - z.amax(dim=2, keepdim=True)).exp()
        return e / e.sum(dim=2, keepdim=True)             # (N, A, C + 1, H, W)
    squares, count, masks = 0.0, 0, []
    for s_map, t_map in zip(student_maps, teacher_maps):
        p_s, p_t = rows(s_map), rows(t_map)
        fg_s, fg_t = 1 - p_s[:, :, num_classes], 1 - p_t[:, :, num_classes]
        threshold = 16.2 * (fg_t - 0.5).abs() ** 6.4
        mask = fg_t > threshold if mode == 'seed' else (fg_s - fg_t).abs() > threshold
        masks.append(mask)
        diff = (p_s - p_t).permute(0, 1, 3, 4, 2)[mask]    # (mined rows, C + 1)
        squares += float((diff ** 2).sum())
        count += diff.numel()
    return alpha * squares / count, masks


@pytest.mark.parametrize('mode', ['seed', 'adaptive'])
def test_a_softmax_head_of_several_classes_compares_full_rows_mined_on_not_background(mode):
    """A softmax RetinaHead of 3 classes + background: each anchor's softmax over its 4 logits
    (mmdet's order, background last), mined on the foreground probability 1 - p_bg, the MSE
    taken over all 4 entries of the mined rows (the reference rule's 2-way row generalised);
    the gradient reaches exactly the mined anchors' logits of the student.

    Catches: the softmax over the wrong axis; the background taken as the first column
    (``1 - probs[:, 0]``) or the foreground as ``p_bg``; the background column dropped from the
    compared rows (``probs[:, :-1]``) or from the channel count (``num_classes`` columns per
    row); the anchors' channels read in the wrong layout (no permute to channels-last)."""
    num_classes = 3
    distiller = ClsMapKD(mode=mode, loss_weight=0.5)
    distiller.setup({}, {}, *models_with_heads(num_classes, False))
    assert not distiller.sigmoid
    channels = NUM_ANCHORS * (num_classes + 1)
    sizes = ((5, 4), (3, 2))
    torch.manual_seed(4)
    # background logit raised by 1.5: a mix of mined and dropped anchors in both modes
    shift = torch.zeros(NUM_ANCHORS, num_classes + 1)
    shift[:, num_classes] = 1.5
    shift = shift.reshape(1, channels, 1, 1)
    s_maps = [(torch.randn(2, channels, h, w) * 2 + shift).requires_grad_() for h, w in sizes]
    t_maps = [(torch.randn(2, channels, h, w) * 2 + shift).requires_grad_() for h, w in sizes]
    reg_maps = [torch.zeros(2, 4 * NUM_ANCHORS, h, w) for h, w in sizes]

    out = distiller(dict(outputs=(s_maps, reg_maps)), dict(maps=t_maps))
    expected, masks = multiclass_softmax_reference(s_maps, t_maps, NUM_ANCHORS, num_classes,
                                                   mode)
    mined = sum(int(m.sum()) for m in masks)
    total = sum(m.numel() for m in masks)
    assert total == 2 * (20 + 6) * NUM_ANCHORS
    assert 0.1 < mined / total < 0.9
    assert out['loss_cls_map_kd'].item() == pytest.approx(0.5 * expected, rel=1e-5)
    assert out['cls_map_kd_mined'].item() == pytest.approx(mined / total, rel=1e-6)

    out['loss_cls_map_kd'].backward()
    assert all(t.grad is None for t in t_maps)
    for s_map, mask in zip(s_maps, masks):
        n, _, h, w = s_map.shape
        grad = s_map.grad.reshape(n, NUM_ANCHORS, num_classes + 1, h, w)
        assert torch.equal((grad != 0).any(dim=2), mask)
