import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, run_tool, save_fresh_checkpoint
from mmkd.models.distillers.mask_kd import _gt_class_masks
from mmkd.models.losses import soft_mask_bce
from mmkd.registry import MODELS
from test_distill_detector import fake_batch
from test_tools_e2e import tiny_data_options

MASK_TEACHER = osp.join(ROOT, 'configs', 'maskrcnn_r18w32_teacher_shapes.py')
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


@pytest.fixture(scope='module')
def mask_teacher_checkpoint(tmp_path_factory):
    return save_fresh_checkpoint(MASK_TEACHER,
                                 str(tmp_path_factory.mktemp('mask_teacher') / 'mask_t.pth'))


def test_teacher_mask_head_sees_the_students_positive_rois(mask_teacher_checkpoint):
    cfg = Config.fromfile(MASK_KD_CONFIG).model
    cfg.teacher.checkpoint = mask_teacher_checkpoint
    model = MODELS.build(cfg).train()
    seen = {}

    def record(name):
        def hook(module, args, output):
            seen[name] = args[1].clone()
        return hook

    model.teacher.roi_head.mask_roi_extractor.register_forward_hook(record('teacher'))
    model.student.roi_head.mask_roi_extractor.register_forward_hook(record('student'))
    inputs, samples = fake_batch()
    from mmdet.structures.mask import BitmapMasks
    for sample in samples:
        masks = torch.zeros(2, 64, 64, dtype=torch.uint8)
        masks[0, 4:30, 4:30] = 1
        masks[1, 24:50, 20:60] = 1
        sample.gt_instances.masks = BitmapMasks(masks.numpy(), 64, 64)
    losses = model.loss(inputs, samples)
    assert seen['teacher'].shape[0] > 0
    assert torch.equal(seen['teacher'], seen['student'])          # same positive RoIs, same order
    assert torch.isfinite(losses['loss_mask_kd']) and torch.isfinite(losses['loss_reviewkd'])


def test_mask_kd_config_trains_validates_both_metrics_and_exports(tmp_path,
                                                                   mask_teacher_checkpoint):
    options = tiny_data_options(tmp_path / 'data') + [
        f'model.teacher.checkpoint={mask_teacher_checkpoint}']
    log = run_tool('tools/train.py', MASK_KD_CONFIG, '--work-dir', str(tmp_path / 'run'),
                   '--cfg-options', *options)
    assert re.search(r'loss_mask_kd: \d', log) and re.search(r'loss_reviewkd: \d', log)
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
