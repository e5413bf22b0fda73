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


@pytest.mark.parametrize('shape', [(1, 7, 2), (2, 100, 2), (4, 1000, 2)])
def test_seed_mode_equals_reference_code(shape):
    torch.manual_seed(sum(shape))
    teacher, student = torch.randn(shape) * 3, torch.randn(shape) * 3
    expected = reference_kd_loss(teacher, student)
    loss, fraction = seed_mode(teacher, student)
    assert torch.isfinite(expected) and 0 < fraction < 1
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6, abs=1e-7)


def test_seed_mode_detaches_teacher_and_empty_selection_is_zero():
    teacher = torch.tensor([[[5.0, -5.0], [6.0, -6.0]]], requires_grad=True)   # p_face ~ 0
    student = torch.randn(1, 2, 2, requires_grad=True)
    assert torch.isnan(reference_kd_loss(teacher, student))       # the seed's quirk
    loss, fraction = seed_mode(teacher, student)
    assert loss.item() == 0.0 and fraction.item() == 0.0
    loss.backward()
    assert student.grad is not None and torch.all(student.grad == 0)
    assert teacher.grad is None


def test_threshold_shape():
    p = torch.tensor([0.0, 0.5, 1.0])
    assert mining_threshold(p).tolist() == pytest.approx([16.2 * 0.5 ** 6.4, 0.0, 16.2 * 0.5 ** 6.4])
    assert 16.2 * 0.5 ** 6.4 == pytest.approx(0.192, abs=1e-3)


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
from mmkd.datasets import dlib_xml_to_coco, wider_face_to_coco  # noqa: E402
from mmkd.registry import MODELS  # noqa: E402
from test_distill_detector import fake_batch  # noqa: E402

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


@pytest.mark.parametrize('softmax', [False, True], ids=['sigmoid', 'softmax'])
@pytest.mark.parametrize('mode', ['seed', 'adaptive'])
def test_sigmoid_and_softmax_heads_train_with_finite_losses(tmp_path, softmax, mode):
    model = build_clskd(tmp_path, softmax=softmax, mode=mode).train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    inputs, samples = face_batch()
    for _ in range(2):
        loss, logs = model.parse_losses(model.loss(inputs, samples))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss) and torch.isfinite(logs['loss_cls_map_kd'])
        assert 0 <= logs['cls_map_kd_mined'].item() <= 1      # logged, not added to the loss
    assert model.distillers[0].sigmoid is not softmax


def test_seed_mode_of_the_distiller_is_the_reference_on_softmax_heads(tmp_path):
    model = build_clskd(tmp_path, softmax=True)
    distiller = model.distillers[0]
    torch.manual_seed(0)
    s_maps = [torch.randn(2, 6, 5, 5) * 3]   # 3 anchors x (face, background)
    t_maps = [torch.randn(2, 6, 5, 5) * 3]
    student_probs, student_face = distiller._probabilities(s_maps)
    teacher_probs, teacher_face = distiller._probabilities(t_maps)

    def reference_layout(maps):   # (N, M, 2) logits with face at index 1, as the seed code has
        return maps[0].permute(0, 2, 3, 1).reshape(2, -1, 2).flip(-1)

    expected = reference_kd_loss(reference_layout(t_maps), reference_layout(s_maps))
    loss, _ = cls_map_kd_loss(student_probs, teacher_probs, student_face, teacher_face)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_dlib_xml_converter_on_real_faces():
    coco, counts = dlib_xml_to_coco(osp.join(ROOT, '..', 'shared', 'data', 'dlib_faces',
                                             'testing.xml'))
    assert len(coco['annotations']) == 25 and counts['faces'] == 25
    assert len(coco['images']) == counts['images'] == 5
    first = coco['annotations'][0]
    assert first['bbox'] == [274.0, 181.0, 52.0, 53.0] and first['category_id'] == 1


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
    """ReviewKD needs nothing but a neck returning levels: RetinaNet (P2-P6) as Faster R-CNN."""
    build_clskd(tmp_path)       # writes the face teacher's config and checkpoint
    cfg = Config.fromfile(CLSKD_CONFIG).model
    cfg.teacher = dict(config=str(tmp_path / 'face_teacher.py'),
                       checkpoint=str(tmp_path / 'face_teacher.pth'))
    cfg.distillers = [dict(type='ReviewKD', loss_weight=1.0)]
    model = MODELS.build(cfg).train()
    assert [abf.project[0].out_channels for abf in model.distillers[0].abfs] == [64] * 5
    loss = model.loss(*face_batch())['loss_reviewkd']
    assert torch.isfinite(loss) and loss.item() > 0


def test_teacher_runs_only_the_classification_branch(tmp_path):
    """The teacher's RetinaHead skips its regression branch; its maps equal the full forward's."""
    from mmkd.models.distillers.cls_map_kd import classification_maps
    model = build_clskd(tmp_path)
    head = model.teacher.bbox_head
    calls = []
    head.reg_convs[0].register_forward_hook(lambda *args: calls.append('reg'))
    feats = [torch.randn(2, 64, size, size) for size in (16, 8, 4, 2, 1)]
    with torch.no_grad():
        maps = classification_maps(head, feats)
        assert not calls
        full = head(feats)[0]
    assert all(torch.equal(m, f) for m, f in zip(maps, full))
