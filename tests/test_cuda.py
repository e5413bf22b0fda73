"""What only a CUDA GPU can check: mmcv's CUDA ops, the teacher's fp16 and channels-last switches
(no-ops or other kernels on the CPU), fp16 loss scaling with a skipped step, and
``tools/train.py --amp`` (fp16 with mmkd.AmpOptimWrapper; bf16 autocast on the CPU).

Skipped on a machine without CUDA. ``tools/gpu_check.sh`` runs them on a lent GPU machine.
"""
import re

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from conftest import REVIEWKD_CONFIG, TEACHER_CONFIG, distill_model_config, run_tool
from mmkd.registry import MODELS
from test_distill_detector import fake_batch, mask_batch, roi_kd_models
from test_tools_e2e import assert_total_is_the_sum, logged_terms, tiny_data_options

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a CUDA GPU (run by tools/gpu_check.sh)')

# what the students return themselves; every other loss_* term is a distiller's
STUDENT_LOSSES = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask')


@pytest.fixture
def exact_cuda():
    """fp32 kernels that do not trade precision for speed (no TF32) and pick the same algorithm
    every time, so that two layouts of one computation differ by float rounding only."""
    backends = (torch.backends.cudnn, torch.backends.cuda.matmul)
    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
             torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    for backend in backends:
        backend.allow_tf32 = False
    yield
    (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
     torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) = saved


def on_cuda(inputs, samples):
    """A batch on the GPU: inputs, and the data samples' tensors (boxes, labels; mmdet's
    BitmapMasks stay numpy, as the data preprocessor leaves them)."""
    return inputs.cuda(), [sample.to('cuda') for sample in samples]


def distill_terms(losses: dict) -> dict:
    return {name: value for name, value in losses.items()
            if name.startswith('loss') and name not in STUDENT_LOSSES}


def seeded_losses(model, inputs, samples) -> dict:
    """``model.loss`` in train mode after seeding (RPN and RoI sampling draw on the GPU too)."""
    torch.manual_seed(0)
    return model.train().loss(inputs, samples)


def reviewkd_pair(teacher_checkpoint, **switches):
    plain = MODELS.build(distill_model_config(teacher_checkpoint))
    switched = MODELS.build(distill_model_config(
        teacher_checkpoint, teacher=dict(config=TEACHER_CONFIG, checkpoint=teacher_checkpoint,
                                         **switches)))
    return [(plain, switched)]


def roi_kd_pairs(teacher_checkpoint, mask_teacher_checkpoint, **switches):
    """(plain, switched) for the hint config (RoIHeadKD) and the mask KD config (MaskHeadKD)."""
    return list(zip(roi_kd_models(teacher_checkpoint, mask_teacher_checkpoint),
                    roi_kd_models(teacher_checkpoint, mask_teacher_checkpoint, **switches)))


def same_weights_on_cuda(plain, switched):
    """Both on the GPU with the same student and connectors (the teachers share a checkpoint)."""
    switched.load_state_dict(plain.state_dict())
    return plain.cuda(), switched.cuda()


# --- mmcv's CUDA ops -----------------------------------------------------------------------------

def test_mmcv_cuda_ops_agree_with_their_cpu_kernels():
    from mmcv.ops import nms, roi_align
    torch.manual_seed(0)
    feats = torch.randn(2, 8, 24, 24)
    rois = torch.tensor([[0, 1.5, 2.0, 17.0, 20.5], [1, 0.0, 0.0, 23.0, 23.0],
                         [1, 5.2, 3.3, 9.9, 14.1]])
    expected = roi_align(feats, rois, (7, 7), 0.5, 2, 'avg', True)
    got = roi_align(feats.cuda(), rois.cuda(), (7, 7), 0.5, 2, 'avg', True)
    assert got.is_cuda and expected.abs().sum() > 0
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-5, atol=1e-5)

    xy = torch.rand(200, 2) * 100
    boxes = torch.cat([xy, xy + 5 + torch.rand(200, 2) * 30], dim=1)
    scores = torch.rand(200)
    kept_cpu, keep_cpu = nms(boxes, scores, 0.5)
    kept_cuda, keep_cuda = nms(boxes.cuda(), scores.cuda(), 0.5)
    assert 0 < len(keep_cpu) < 200                      # some boxes suppressed, not all
    assert torch.equal(keep_cuda.cpu(), keep_cpu)
    torch.testing.assert_close(kept_cuda.cpu(), kept_cpu)


# --- the teacher's switches ----------------------------------------------------------------------

@pytest.mark.parametrize('config', ['reviewkd', 'hint+mask'])
def test_fp16_teacher_runs_in_half_and_gives_fp32_losses_near_the_fp32_teachers(
        config, teacher_checkpoint, mask_teacher_checkpoint, exact_cuda):
    pairs = (reviewkd_pair(teacher_checkpoint, fp16=True) if config == 'reviewkd' else
             roi_kd_pairs(teacher_checkpoint, mask_teacher_checkpoint, fp16=True))
    for plain, half in pairs:
        plain, half = same_weights_on_cuda(plain, half)
        dtypes = {'plain': [], 'half': []}
        for name, model in (('plain', plain), ('half', half)):
            model.teacher.detector.backbone.conv1.register_forward_hook(
                lambda module, args, out, seen=dtypes[name]: seen.append(out.dtype))
        heads = []            # the teacher's head that the distiller runs on the student's RoIs
        if config != 'reviewkd':
            roi_head = half.teacher.detector.roi_head
            head = (roi_head.mask_head.conv_logits if roi_head.with_mask
                    else roi_head.bbox_head.fc_cls)
            head.register_forward_hook(lambda module, args, out: heads.append(out.dtype))
        inputs, samples = on_cuda(*mask_batch())
        expected = distill_terms(seeded_losses(plain, inputs, samples))
        losses = distill_terms(seeded_losses(half, inputs, samples))

        assert dtypes == {'plain': [torch.float32], 'half': [torch.float16]}
        if config != 'reviewkd':
            assert heads and set(heads) == {torch.float16}, heads
        assert expected and set(losses) == set(expected)
        for name, value in losses.items():
            assert value.dtype == torch.float32, name
            if '_reg' in name:        # teacher-bounded L2: zero when the student beats the teacher
                assert value.item() == pytest.approx(expected[name].item(), rel=1e-2, abs=1e-4)
            else:
                assert expected[name].item() > 0, name
                assert value.item() == pytest.approx(expected[name].item(), rel=1e-2), name


def test_channels_last_teacher_on_cuda_gives_the_same_roi_and_mask_kd_losses(
        teacher_checkpoint, mask_teacher_checkpoint, exact_cuda):
    """mmcv's CUDA RoIAlign reads plain NCHW memory: a channels-last teacher's maps must reach it
    contiguous, or the teacher's RoI features (and the KD losses on them) are wrong."""
    names = (['loss_rcnn_kd_cls', 'loss_rcnn_kd_reg'], ['loss_mask_kd'])
    for (plain, switched), loss_names in zip(
            roi_kd_pairs(teacher_checkpoint, mask_teacher_checkpoint, channels_last=True), names):
        plain, switched = same_weights_on_cuda(plain, switched)
        assert switched.teacher.detector.backbone.conv1.weight.is_contiguous(
            memory_format=torch.channels_last)
        seen = []
        switched.teacher.detector.backbone.conv1.register_forward_hook(
            lambda module, args, out: seen.append(
                (args[0].is_cuda, args[0].is_contiguous(memory_format=torch.channels_last))))
        inputs, samples = on_cuda(*mask_batch())
        expected = seeded_losses(plain, inputs, samples)
        losses = seeded_losses(switched, inputs, samples)
        assert seen == [(True, True)]
        for name in loss_names:
            assert expected[name].item() > 0, name
            assert losses[name].item() == pytest.approx(expected[name].item(), rel=1e-4), name


# --- fp16 training -------------------------------------------------------------------------------

def amp_step(model, inputs, samples, wrapper):
    """One training step as mmengine's ``train_step`` runs it: the forward under the wrapper's
    autocast, then the scaled backward and the scaler's step."""
    model.train()
    with wrapper.optim_context(model):
        losses = model.loss(inputs, samples)
    loss, logs = model.parse_losses(losses)
    wrapper.update_params(loss)
    return loss, logs


def test_a_skipped_step_under_cuda_loss_scaling_leaves_weights_and_scaler_alone(
        teacher_checkpoint):
    from test_bad_inputs import poison
    model = poison(MODELS.build(distill_model_config(teacher_checkpoint,
                                                     nonfinite_loss='skip')),
                   'loss_reviewkd').cuda()
    wrapper = build_optim_wrapper(model, dict(
        type='mmkd.AmpOptimWrapper', loss_scale=dict(init_scale=256.0),
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)))
    assert type(wrapper).__name__ == 'SkippingAmpOptimWrapper'
    student_dtypes = []
    model.student.backbone.register_forward_hook(
        lambda module, args, out: student_dtypes.append(out[-1].dtype))
    inputs, samples = on_cuda(*fake_batch())
    before = {k: v.clone() for k, v in model.named_parameters()}

    loss, logs = amp_step(model, inputs, samples, wrapper)
    assert student_dtypes == [torch.float16]                # the step ran under fp16 autocast
    assert loss.item() == 0 and torch.isnan(logs['loss_reviewkd'])
    assert all(torch.equal(v, before[k]) for k, v in model.named_parameters())
    assert not wrapper.optimizer.state and wrapper.loss_scaler.get_scale() == 256.0

    del model.distillers[0].forward                   # healthy again: the next step updates
    loss, logs = amp_step(model, inputs, samples, wrapper)
    assert torch.isfinite(loss) and logs['loss_reviewkd'] > 0
    assert not torch.equal(model.student.backbone.conv1.weight,
                           before['student.backbone.conv1.weight'])
    assert any(not torch.equal(v, before[k]) for k, v in model.named_parameters()
               if k.startswith('distillers.'))           # the connectors train too
    assert wrapper.optimizer.state and wrapper.loss_scaler.get_scale() == 256.0


def test_train_tool_with_amp_on_cuda_logs_the_distill_loss(tmp_path, teacher_checkpoint):
    options = tiny_data_options(tmp_path / 'data') + [
        f'model.teacher.checkpoint={teacher_checkpoint}', 'default_hooks.logger.interval=1']
    log = run_tool('tools/train.py', REVIEWKD_CONFIG, '--work-dir', str(tmp_path / 'run'),
                   '--amp', '--cfg-options', *options)
    assert "type='mmkd.AmpOptimWrapper'" in log                # --amp on a GPU: fp16
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\].* memory: \d+', log), log[-3000:]  # on CUDA
    lines = logged_terms(log)
    assert len(lines) == 2                                     # logger interval 1, 2 iterations
    for terms in lines:
        assert terms['loss_reviewkd'] > 0, terms
        assert_total_is_the_sum(terms)
    assert 'coco/bbox_mAP' in log
