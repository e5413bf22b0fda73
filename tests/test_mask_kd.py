import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from conftest import ROOT, run_tool
from mmkd.models.distillers.mask_kd import _gt_class_masks
from mmkd.models.losses import soft_mask_bce
from mmkd.registry import MODELS
from test_distill_detector import mask_batch
from test_hcl_abf import paper_reviewkd_loss
from test_tools_e2e import assert_total_is_the_sum, logged_terms, tiny_data_options

MASK_KD_CONFIG = osp.join(ROOT, 'configs', 'reviewkd_maskkd_maskrcnn.py')


def test_soft_mask_bce_against_hand_value():
    s = torch.tensor([[[0.0, 2.0]]])
    t = torch.tensor([[[2.0, -2.0]]])
    T = 2.0

    def sig(x):
        return 1 / (1 + math.exp(-x))

    terms = []
    for sv, tv in ((0.0, 2.0), (2.0, -2.0)):
        p, q = sig(sv / T), sig(tv / T)
        terms.append(-(q * math.log(p) + (1 - q) * math.log(1 - p)))
    assert soft_mask_bce(s, t, T).item() == pytest.approx(sum(terms) / 2, rel=1e-6)


def test_soft_mask_bce_of_no_roi_is_zero():
    s = torch.zeros(0, 28, 28, requires_grad=True)
    loss = soft_mask_bce(s, torch.zeros(0, 28, 28))
    loss.backward()
    assert loss.item() == 0.0 and s.grad is not None


def test_gt_class_masks_picks_each_rois_label():
    preds = torch.arange(2 * 3 * 2 * 2, dtype=torch.float).view(2, 3, 2, 2)
    picked = _gt_class_masks(preds, torch.tensor([2, 0]))
    assert torch.equal(picked[0], preds[0, 2]) and torch.equal(picked[1], preds[1, 0])
    agnostic = preds[:, :1]
    assert torch.equal(_gt_class_masks(agnostic, torch.tensor([2, 0])), agnostic[:, 0])


def box_iou(a, b):
    """(n, 4) x (m, 4) boxes (x1, y1, x2, y2) -> (n, m) intersection over union."""
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    area = (a[:, 2:] - a[:, :2]).prod(dim=-1)[:, None] + (b[:, 2:] - b[:, :2]).prod(dim=-1)[None]
    return inter / (area - inter)


def test_teacher_mask_head_sees_the_students_positive_rois(mask_teacher_checkpoint):
    cfg = Config.fromfile(MASK_KD_CONFIG).model
    cfg.teacher.checkpoint = mask_teacher_checkpoint
    model = MODELS.build(cfg).train()
    teacher = model.teacher.detector
    seen = {}

    def record(name, pick):
        def hook(module, args, output):
            seen[name] = pick(args, output)
        return hook

    teacher.roi_head.mask_roi_extractor.register_forward_hook(
        record('teacher', lambda args, out: args[1].clone()))
    model.student.roi_head.mask_roi_extractor.register_forward_hook(
        record('student', lambda args, out: args[1].clone()))
    teacher.roi_head.mask_head.register_forward_hook(
        record('teacher_masks', lambda args, out: out.detach().clone()))
    model.student.roi_head.mask_head.register_forward_hook(
        record('student_masks', lambda args, out: out))
    inputs, samples = mask_batch()
    losses = model.loss(inputs, samples)
    rois = seen['student']
    assert rois.shape[0] > 0
    assert torch.equal(seen['teacher'], rois)          # same positive RoIs, same order

    # Each positive RoI's class: that of the GT box it overlaps (IoU >= 0.5; the two GT boxes
    # overlap too little for a box to reach 0.5 with both).
    labels = []
    for roi in rois:
        gt = samples[int(roi[0])].gt_instances
        iou = box_iou(roi[None, 1:], gt.bboxes)[0]
        assert iou.max() >= 0.5
        labels.append(gt.labels[iou.argmax()])
    index = torch.arange(len(rois))
    s = seen['student_masks'][index, torch.stack(labels)]          # (n, 28, 28) GT-class logits
    q = torch.sigmoid(seen['teacher_masks'][index, torch.stack(labels)])   # T = 1
    expected = -(q * F.logsigmoid(s) + (1 - q) * F.logsigmoid(-s)).mean()   # weight 1.0
    assert losses['loss_mask_kd'].item() == pytest.approx(expected.item(), rel=1e-5)
    with torch.no_grad():
        expected_review = paper_reviewkd_loss(
            model.distillers[0].abfs, model.student.extract_feat(inputs),
            teacher.extract_feat(model.teacher.input(inputs, samples)), 1.5)
    assert losses['loss_reviewkd'].item() == pytest.approx(expected_review.item(), rel=1e-4)

    losses['loss_mask_kd'].backward()
    assert model.student.roi_head.mask_head.conv_logits.weight.grad.abs().sum() > 0
    assert model.student.roi_head.bbox_head.fc_cls.weight.grad is None
    assert all(p.grad is None for p in teacher.parameters())


def test_mask_kd_config_trains_validates_both_metrics_and_exports(tmp_path,
                                                                   mask_teacher_checkpoint):
    options = tiny_data_options(tmp_path / 'data') + [
        f'model.teacher.checkpoint={mask_teacher_checkpoint}']
    log = run_tool('tools/train.py', MASK_KD_CONFIG, '--work-dir', str(tmp_path / 'run'),
                   '--cfg-options', *options)
    lines = logged_terms(log)
    assert lines
    for terms in lines:     # soft-target BCE and HCL are > 0, and both are trained on
        assert terms['loss_mask_kd'] > 0 and terms['loss_reviewkd'] > 0, terms
        assert_total_is_the_sum(terms)
    assert 'coco/bbox_mAP:' in log and 'coco/segm_mAP:' in log
    run_tool('tools/export_student.py', MASK_KD_CONFIG, str(tmp_path / 'run' / 'epoch_1.pth'),
             str(tmp_path / 'export'))
    script = (
        'import sys\n'
        'from mmdet.apis import init_detector, inference_detector\n'
        f'model = init_detector({str(tmp_path / "export" / "student.py")!r}, '
        f'{str(tmp_path / "export" / "student.pth")!r}, device="cpu")\n'
        f'result = inference_detector(model, {str(tmp_path / "data" / "val" / "00001.png")!r})\n'
        'assert "mmkd" not in sys.modules\n'
        'print(type(model).__name__, "masks", tuple(result.pred_instances.masks.shape[1:]))\n')
    out = run_tool('-c', script, cwd=str(tmp_path))
    assert 'MaskRCNN masks (160, 160)' in out
