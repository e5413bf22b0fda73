"""tools/benchmark.py: memory peaks per call, the phases of a distilled step, and the tool end to
end on a tiny run."""
import json
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, REVIEWKD_CONFIG, model_config, run_tool
from mmkd.apis.benchmark import (DistillPhases, PeakMemory, build_initialised, distill_cost,
                                 measure, method_distillers, profile_distill_step,
                                 student_alone, synthetic_batches)
from mmkd.registry import MODELS as MMKD_MODELS
from test_distill_detector import fake_batch
from test_frcnn_kd import HINT_CONFIG, build_hint


def test_peak_memory_sees_what_a_call_holds_at_its_peak():
    def hold(mb):
        def call(inputs, samples):
            block = torch.ones(mb * 2**18)      # float32: mb MiB, alive until the call returns
            return block.sum()
        return call

    costs = measure(dict(small=hold(20), large=hold(80)), [(None, None)], iters=2, warmup=1,
                    device=torch.device('cpu'))
    assert 18 <= costs['small'].peak_bytes / 2**20 <= 30
    assert 78 <= costs['large'].peak_bytes / 2**20 <= 95
    with PeakMemory(torch.device('cpu')) as memory:
        pass
    assert memory.peak < 2 * 2**20


def test_timed_rounds_run_without_memory_probes_in_between(monkeypatch):
    """PeakMemory hands freed memory back to the OS before a call: a timed call right after it
    pays the page faults again, so time and memory are measured in separate passes."""
    events = []
    monkeypatch.setattr(PeakMemory, '__enter__', lambda self: events.append('probe') or self)
    monkeypatch.setattr(PeakMemory, '__exit__', lambda self, *exc: setattr(self, 'peak', 0))
    phases = {name: (lambda inputs, samples, name=name: events.append(name)) for name in 'ab'}
    measure(phases, [(None, None)], iters=3, warmup=1, device=torch.device('cpu'))
    assert events == ['a', 'b'] * 4 + ['probe', 'a', 'probe', 'b']


def test_overhead_and_rest_from_known_phase_times(teacher_checkpoint):
    """A clock that makes each phase last a known time: the figures follow from those alone."""
    durations = dict(student_step=1.0, distill_step=5.0, teacher_forward=2.0,
                     teacher_backbone_neck=1.5, distillers=0.5)
    order = list(durations)                 # the order DistillPhases runs them in
    ticks = []
    for _ in range(2):                      # warmup 1 + iters 1
        now = ticks[-1] if ticks else 0.0
        for name in order:
            ticks += [now, now + durations[name]]
            now += durations[name]
    clock = iter(ticks).__next__
    model = build_hint(teacher_checkpoint)
    cost = distill_cost(model, model_config(HINT_CONFIG).student, [fake_batch()], iters=1,
                        warmup=1, clock=clock)
    assert {name: cost[f'{name}_s'] for name in order} == durations
    assert cost['overhead'] == pytest.approx(5.0 / (1.0 + 2.0))
    assert cost['rest_s'] == pytest.approx(5.0 - 1.0 - 2.0 - 0.5)


def test_benchmark_tool_prints_the_overhead_of_a_config(tmp_path):
    out = run_tool('tools/benchmark.py', REVIEWKD_CONFIG, '--iters', '1', '--warmup', '0',
                   '--batches', '1', '--random-teacher', '--clock', 'cpu',
                   '--out', str(tmp_path / 'cost.json'),
                   '--cfg-options', 'train_dataloader.batch_size=2',
                   f'train_dataloader.dataset.data_root={tmp_path}/data/',
                   'train_dataloader.dataset.num_images=4')
    assert re.search(r'\| reviewkd_frcnn.py \| [\d.]+ \| [\d.]+ \(-?[\d.]+\)( \| -?[\d.]+){8} \|',
                     out), out[-3000:]
    assert 'cpu clock' in out
    cost = json.loads((tmp_path / 'cost.json').read_text())['reviewkd_frcnn.py']
    phases = ('student_step', 'distill_step', 'teacher_forward', 'teacher_backbone_neck',
              'distillers')
    assert set(cost) == ({f'{p}_s' for p in phases} | {f'{p}_peak_mb' for p in phases}
                         | {'overhead', 'rest_s', 'memory_overhead'})
    assert cost['distill_step_s'] > cost['distillers_s'] > 0


@pytest.mark.parametrize('amp', [False, True])
def test_amp_runs_every_phase_in_mixed_precision(teacher_checkpoint, amp):
    """--amp: the student alone, the distilled student and the teacher, in the step and in
    the teacher's phase of its own, compute in bf16 on the CPU (fp16 on a GPU), as
    tools/train.py --amp runs a step. A RetinaNet student: mmcv's CPU NMS, which a two-stage
    student's training step runs, takes fp32 only."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'reviewkd_frcnn_to_retinanet.py')).model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = build_initialised(cfg).train()
    phases = DistillPhases(model, student_alone(model, cfg.student), 1e-4, amp=amp)
    dtypes = {}
    for name, module in (('alone', phases.student.neck.fpn_convs[0]),
                         ('distilled', model.student.neck.fpn_convs[0]),
                         ('teacher', model.teacher.module('neck.fpn_convs.0'))):
        module.register_forward_hook(   # update returns None: the output is left as it is
            lambda _, __, out, name=name: dtypes.update({name: out.dtype}))
    inputs, samples = fake_batch()
    phases.student_step(inputs, samples)
    phases.distill_step(inputs, samples)
    reduced = torch.bfloat16 if amp else torch.float32
    assert dtypes == dict(alone=reduced, distilled=reduced, teacher=reduced)
    dtypes.clear()
    phases.teacher_forward(inputs, samples)
    assert dtypes == dict(teacher=reduced)


def test_teacher_phase_runs_the_heads_distillers_need_on_the_students_rois(teacher_checkpoint):
    model = build_hint(teacher_checkpoint).train()
    phases = DistillPhases(model, student_alone(model, model_config(HINT_CONFIG).student), 1e-4)
    inputs, samples = fake_batch()
    calls = []
    for head in ('rpn_head', 'roi_head.bbox_head'):
        model.teacher.module(head).register_forward_hook(
            lambda *args, head=head: calls.append(head))
    phases.distill_step(inputs, samples)
    distill_calls, calls[:] = list(calls), []
    phases.teacher_forward(inputs, samples)
    assert calls == distill_calls == ['rpn_head', 'roi_head.bbox_head']
    model.zero_grad(set_to_none=True)
    phases.distillers(inputs, samples)
    assert all(p.grad is not None for p in model.distillers[0].adapters.parameters())
    assert all(p.grad is None for p in model.student.parameters())   # the records were leaves


def test_the_benchmarked_student_starts_at_its_own_initialisation(teacher_checkpoint):
    """As a training run starts it: a RetinaNet classifier at the focal-loss prior, bias
    ``-log((1 - pi) / pi)`` with pi = 0.01 (Lin et al. 2017, section 4.1), not PyTorch's default
    (whose first focal loss at COCO size is ~1e4 and diverges)."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'reviewkd_frcnn_to_retinanet.py')).model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = build_initialised(cfg)
    bias = model.student.bbox_head.retina_cls.bias
    assert torch.allclose(bias, torch.full_like(bias, -math.log(0.99 / 0.01)))


def test_methods_are_the_search_terms_on_the_configs_pair_and_combine_with_a_plus():
    assert [c['type'] for c in method_distillers('pkd+rpn_roi_kd')] == [
        'mmkd.PKD', 'mmkd.RPNKD', 'mmkd.RoIHeadKD']
    # each at its own default weight: MGD's summed loss at weight 1 diverges at COCO size
    mgd = MMKD_MODELS.build(method_distillers('mgd')[0])
    assert mgd.loss_weight == 2e-5
    with pytest.raises(ValueError, match="'pdk' is not one of"):
        method_distillers('pkd+pdk')


def test_synthetic_batches_are_the_size_asked_with_boxes_inside(teacher_checkpoint):
    model = build_hint(teacher_checkpoint)
    batches = synthetic_batches(model, 2, batch_size=3, size=(100, 70), num_classes=8)
    assert len(batches) == 2
    (inputs, samples), (other, _) = batches
    assert inputs.shape == (3, 3, 96, 128)          # 70 x 100 padded to the FPN's divisor 32
    assert not torch.equal(inputs, other)           # distinct batches
    for sample in samples:
        assert sample.img_shape == (70, 100) and sample.batch_input_shape == (96, 128)
        boxes = sample.gt_instances.bboxes
        assert len(boxes) >= 1 and (boxes[:, 2] <= 100).all() and (boxes[:, 3] <= 70).all()
        assert (sample.gt_instances.labels < 8).all()
    (_, masked), = synthetic_batches(model, 1, 1, (100, 70), 8, with_mask=True)
    assert masked[0].gt_instances.masks.masks.shape[1:] == (70, 100)


def test_benchmark_tool_measures_each_method_on_synthetic_images():
    out = run_tool('tools/benchmark.py', REVIEWKD_CONFIG, '--methods', 'cwd', 'ld',
                   'pkd+rpn_roi_kd', '--synthetic', '160', '96', '--batch-size', '1',
                   '--iters', '1', '--warmup', '0', '--batches', '1', '--random-teacher',
                   '--clock', 'cpu', '--profile', '5')
    assert 'random 160x96 images, batch 1' in out
    assert re.search(r'reviewkd_frcnn.py cwd, one distilled step profiled: mmkd:student_loss '
                     r'[\d.]+ s, ', out), out[-3000:]
    for row in ('reviewkd_frcnn.py cwd', 'reviewkd_frcnn.py pkd+rpn_roi_kd'):
        assert re.search(rf'\| {re.escape(row)} \| [\d.]+ \| [\d.]+ \(', out), out[-3000:]
    assert "left out ld: model.distillers[0] (mmkd.LD): student (FasterRCNN) has no module " \
        "'bbox_head'" in out
    assert 'reviewkd_frcnn.py ld |' not in out
    assert 'mmkd.ReviewKD' not in out.split('random 160x96')[1]   # the config's own: replaced


def test_a_profiled_step_names_its_parts(teacher_checkpoint):
    """The ranges of DistillDetector.distill_step and of the update each hold their share of
    one profiled step: the hint KD step runs the teacher's RoI head, so every part has work."""
    model = build_hint(teacher_checkpoint)
    parts, operators = profile_distill_step(model, model_config(HINT_CONFIG).student,
                                            fake_batch(), top=5)
    assert list(parts) == ['mmkd:student_loss', 'mmkd:student_records', 'mmkd:teacher_records',
                           'mmkd:distill_losses', 'mmkd:backward', 'mmkd:optimizer_step']
    for name in ('mmkd:student_loss', 'mmkd:teacher_records', 'mmkd:distill_losses',
                 'mmkd:backward', 'mmkd:optimizer_step'):
        assert parts[name] > 0, parts
    assert parts['mmkd:student_loss'] > parts['mmkd:distill_losses']
    assert 'Self CPU' in operators and operators.count('\n') < 20        # the top 5 only


def test_a_row_whose_loss_is_not_finite_is_left_out_with_the_reason():
    """Random teacher weights can overflow a loss at full size (MGD on the COCO pair did): the
    row is left out, named, and the tool still ends with its table."""
    out = run_tool('tools/benchmark.py', REVIEWKD_CONFIG, '--synthetic', '96', '64',
                   '--batch-size', '1', '--iters', '1', '--warmup', '0', '--batches', '1',
                   '--random-teacher', '--clock', 'cpu',
                   '--cfg-options', 'model.distillers.0.loss_weight=1e39')   # float32: inf
    assert re.search(r'reviewkd_frcnn.py: left out: non-finite loss .*loss_review', out), \
        out[-3000:]
    assert '| config | student step s |' in out and '| reviewkd_frcnn.py |' not in out
