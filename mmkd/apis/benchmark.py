"""What distillation costs: a student step, a teacher forward and a distilled step, on the same
batches, interleaved so that a noisy machine slows all three alike."""
import ctypes
import ctypes.util
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List

import torch
from mmdet.registry import MODELS as MMDET_MODELS
from torch import nn

from mmkd.models.teacher import load_model_config


@dataclass
class PhaseCost:
    """Median seconds per call, and the peak memory a call adds over what it started with (bytes;
    CUDA: allocated by torch; CPU: resident set size, so allocator caching blurs it)."""
    seconds: float
    peak_bytes: int


class PeakMemory:
    """Peak memory of one call: CUDA's allocator statistics, or Linux's resident high-water mark
    (``VmHWM``, reset through ``/proc/self/clear_refs``) after glibc has handed its free memory
    back (``malloc_trim``), so what an earlier call freed does not hide this one's growth."""

    _libc = ctypes.CDLL(ctypes.util.find_library('c'))

    def __init__(self, device: torch.device):
        self.cuda = device.type == 'cuda'

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
        else:
            self._libc.malloc_trim(0)
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self.start = self._status('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.start
        else:
            self.peak = self._status('VmHWM') - self.start

    @staticmethod
    def _status(field: str) -> int:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f'/proc/self/status has no {field}')


def student_alone(distill_model: nn.Module, student_cfg) -> nn.Module:
    """A separate copy of the student (no taps), built from its config with the same weights."""
    student = MMDET_MODELS.build(load_model_config(student_cfg))
    student.load_state_dict(distill_model.student.state_dict())
    return student.to(next(distill_model.parameters()).device).train()


def training_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> Callable:
    def step(inputs, samples):
        loss, _ = model.parse_losses(model.loss(inputs, samples))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return step


def teacher_forward(distill_model: nn.Module) -> Callable:
    """What every distilled step must run of the teacher: backbone and neck, without grad."""
    @torch.no_grad()
    def forward(inputs, samples):
        distill_model.teacher.extract_feat(distill_model.teacher_input(inputs))
    return forward


def measure(phases: Dict[str, Callable], batches: List[tuple], iters: int, warmup: int,
            device: torch.device) -> Dict[str, PhaseCost]:
    """Run the phases round-robin on ``batches`` (each ``(inputs, data_samples)``), ``warmup``
    rounds unmeasured, then ``iters`` measured ones."""
    seconds = {name: [] for name in phases}
    peaks = {name: 0 for name in phases}
    for index in range(warmup + iters):
        inputs, samples = batches[index % len(batches)]
        for name, phase in phases.items():
            with PeakMemory(device) as memory:
                start = time.perf_counter()
                phase(inputs, samples)
                if device.type == 'cuda':
                    torch.cuda.synchronize()
                elapsed = time.perf_counter() - start
            if index >= warmup:
                seconds[name].append(elapsed)
                peaks[name] = max(peaks[name], memory.peak)
    return {name: PhaseCost(statistics.median(seconds[name]), peaks[name]) for name in phases}


def distill_cost(distill_model: nn.Module, student_cfg, batches: List[tuple], iters: int = 20,
                 warmup: int = 3, lr: float = 1e-4) -> Dict[str, float]:
    """Time and memory of a student step, a teacher forward and a distilled step.

    Returns seconds and peak bytes of each phase, plus ``overhead = t(distill step) /
    (t(student step) + t(teacher forward))`` and ``memory_overhead`` on peaks alike: 1.0 is the
    floor (the teacher's forward cannot be skipped), the rest is distillation's own work.
    """
    device = next(distill_model.parameters()).device
    student = student_alone(distill_model, student_cfg)
    distill_model.train()
    trainable = [p for p in distill_model.parameters() if p.requires_grad]
    costs = measure(dict(
        student_step=training_step(student, torch.optim.SGD(student.parameters(), lr=lr)),
        teacher_forward=teacher_forward(distill_model),
        distill_step=training_step(distill_model, torch.optim.SGD(trainable, lr=lr)),
    ), batches, iters, warmup, device)
    result = {f'{name}_s': cost.seconds for name, cost in costs.items()}
    result.update({f'{name}_peak_mb': cost.peak_bytes / 2**20 for name, cost in costs.items()})
    result['overhead'] = costs['distill_step'].seconds / (
        costs['student_step'].seconds + costs['teacher_forward'].seconds)
    floor = costs['student_step'].peak_bytes + costs['teacher_forward'].peak_bytes
    result['memory_overhead'] = costs['distill_step'].peak_bytes / floor if floor else float('nan')
    return result
