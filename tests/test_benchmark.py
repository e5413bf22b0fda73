"""tools/benchmark.py: memory peaks per call, the phases of a distilled step, and the tool end to
end on a tiny run."""
import json
import re

import pytest
import torch

from conftest import REVIEWKD_CONFIG, run_tool
from mmkd.apis.benchmark import PeakMemory, StepRecords, measure
from test_distill_detector import fake_batch
from test_frcnn_kd import build_hint


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
    assert cost['overhead'] == pytest.approx(
        cost['distill_step_s'] / (cost['student_step_s'] + cost['teacher_forward_s']))
    assert all(cost[f'{phase}_peak_mb'] >= 0
               for phase in ('student_step', 'teacher_forward', 'distill_step', 'distillers'))
    assert cost['rest_s'] == pytest.approx(cost['distill_step_s'] - cost['student_step_s']
                                           - cost['teacher_forward_s'] - cost['distillers_s'])


def test_teacher_phase_runs_the_heads_distillers_need_on_the_students_rois(teacher_checkpoint):
    model = build_hint(teacher_checkpoint).train()
    inputs, samples = fake_batch()
    calls = []
    for head in ('rpn_head', 'roi_head.bbox_head'):
        model.teacher.get_submodule(head).register_forward_hook(
            lambda *args, head=head: calls.append(head))
    with StepRecords(model) as records:
        model.loss(inputs, samples)
        distill_calls, calls[:] = list(calls), []
        records.teacher_forward(inputs, samples)
        assert calls == distill_calls == ['rpn_head', 'roi_head.bbox_head']
        records.distillers(inputs, samples)
    assert all(p.grad is not None for p in model.distillers[0].adapters.parameters())
    assert 'student_records' not in vars(model)     # the wrapper is gone
