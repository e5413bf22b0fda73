"""What distillation costs: a student step, a teacher forward and a distilled step, on the same
batches, interleaved so that a noisy machine slows all three alike."""
import contextlib
import copy
import ctypes
import ctypes.util
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import torch
from mmdet.registry import MODELS as MMDET_MODELS
from torch import nn
from torch.profiler import ProfilerActivity, profile, record_function

from mmkd.models.teacher import load_model_config
from mmkd.utils.records import detached_leaves


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


def fresh_teacher_checkpoint(teacher_config, directory: str) -> str:
    """The teacher at its initial weights, saved; pretrained backbone weights (``init_cfg`` of
    type ``Pretrained``) are not fetched, as speed does not depend on them."""
    config = load_model_config(teacher_config)
    drop_pretrained_init(config)
    teacher = MMDET_MODELS.build(config)
    teacher.init_weights()
    path = os.path.join(directory, 'teacher_init.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


def build_initialised(model_config) -> nn.Module:
    """The distillation model as a training run starts it (built, then ``init_weights``: the
    student's and the connectors' own initialisation; the teacher loads its checkpoint), but
    without pretrained backbone weights (``init_cfg`` of type ``Pretrained``), which are not
    fetched. Left at PyTorch's default initialisation instead, a RetinaNet student's focal loss
    starts in the tens of thousands (its classifier lacks the prior bias) and its first steps
    diverge at COCO size."""
    model_config = copy.deepcopy(model_config)
    drop_pretrained_init(model_config.get('student'))
    model = MMDET_MODELS.build(model_config)
    model.init_weights()
    return model


def drop_pretrained_init(config) -> None:
    """Remove every ``init_cfg`` of type ``Pretrained`` from a model config, in place."""
    if isinstance(config, dict):
        init = config.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            config['init_cfg'] = None
        for value in config.values():
            drop_pretrained_init(value)
    elif isinstance(config, (list, tuple)):
        for value in config:
            drop_pretrained_init(value)


def student_alone(distill_model: nn.Module, student_cfg) -> nn.Module:
    """A separate copy of the student (no taps), built from its config with the same weights."""
    student = MMDET_MODELS.build(load_model_config(student_cfg, 'model.student'))
    student.load_state_dict(distill_model.student.state_dict())
    return student.to(next(distill_model.parameters()).device).train()


def update(loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
    """The end of a training step: ``loss`` backward and an ``optimizer`` step, marked for
    the profiler."""
    optimizer.zero_grad()
    with record_function('mmkd:backward'):
        loss.backward()
    with record_function('mmkd:optimizer_step'):
        optimizer.step()


class DistillPhases:
    """The phases of a distilled step, each a call ``phase(inputs, data_samples)``.

    ``distill_step`` runs :meth:`DistillDetector.distill_step` (the one step ``loss`` runs) and
    keeps its records, so that the phases after it run exactly that step's teacher work and
    distiller work on the same records.
    """

    def __init__(self, distill_model: nn.Module, student: nn.Module, lr: float,
                 amp: bool = False):
        self.model, self.student = distill_model, student
        self.amp = amp
        self.student_optimizer = torch.optim.SGD(student.parameters(), lr=lr)
        self.distill_optimizer = torch.optim.SGD(
            [p for p in distill_model.parameters() if p.requires_grad], lr=lr)
        self.last = None

    def autocast(self, inputs: torch.Tensor):
        """Every phase's forward precision: with ``amp``, mixed (fp16 on a GPU, bf16 on the
        CPU), as ``tools/train.py --amp`` runs a whole step (the teacher's work included;
        its ``fp16`` switch puts it in fp16 without ``amp`` too)."""
        if not self.amp:
            return contextlib.nullcontext()
        device = inputs.device.type
        return torch.autocast(device, torch.float16 if device == 'cuda' else torch.bfloat16)

    def student_step(self, inputs, samples):
        """A student alone (no taps): loss, backward, SGD step."""
        with self.autocast(inputs):
            loss, _ = self.student.parse_losses(self.student.loss(inputs, samples))
        update(loss, self.student_optimizer)

    def distill_step(self, inputs, samples):
        """The same for the distilled model."""
        with self.autocast(inputs):
            self.last = self.model.distill_step(inputs, samples)
            loss, _ = self.model.parse_losses(self.last.losses)
        update(loss, self.distill_optimizer)

    def teacher_forward(self, inputs, samples):
        """All the teacher runs in a distilled step (backbone, neck and the heads distillers
        need, on the student's RoIs of the last step), under ``no_grad``."""
        with self.autocast(inputs):
            self.model.teacher_records(inputs, samples, self.last.student_records)

    def teacher_backbone_neck(self, inputs, samples):
        """The teachers' backbones and necks alone, as the step runs them."""
        with self.autocast(inputs):
            self.model.teacher_features(inputs, samples)

    def distillers(self, inputs, samples):
        """The distillers' own work: connectors and losses, forward and backward, on the
        student's records as leaves (the student's own backward is not part of it)."""
        with self.autocast(inputs):
            losses = self.model.distill_losses(detached_leaves(self.last.student_records),
                                               self.last.teacher_records)
        sum(value for name, value in losses.items() if name.startswith('loss')).backward()

    def as_dict(self) -> Dict[str, Callable]:
        names = ('student_step', 'distill_step', 'teacher_forward', 'teacher_backbone_neck',
                 'distillers')
        return {name: getattr(self, name) for name in names}


def measure(phases: Dict[str, Callable], batches: List[tuple], iters: int, warmup: int,
            device: torch.device, clock: Callable[[], float] = time.perf_counter
            ) -> Dict[str, PhaseCost]:
    """Run the phases round-robin on ``batches`` (each ``(inputs, data_samples)``): ``warmup``
    rounds unmeasured, then ``iters`` rounds timed by ``clock`` (seconds), then one round more
    for the peak memory of each phase.

    Time and memory are measured in separate passes: :class:`PeakMemory` hands freed memory
    back to the OS before each call, so a timed call after it would pay the page faults again.
    """
    seconds = {name: [] for name in phases}
    for index in range(warmup + iters):
        inputs, samples = batches[index % len(batches)]
        for name, phase in phases.items():
            start = clock()
            phase(inputs, samples)
            if device.type == 'cuda':
                torch.cuda.synchronize()
            elapsed = clock() - start
            if index >= warmup:
                seconds[name].append(elapsed)
    peaks = {}
    inputs, samples = batches[(warmup + iters) % len(batches)]
    for name, phase in phases.items():
        with PeakMemory(device) as memory:
            phase(inputs, samples)
        peaks[name] = memory.peak
    return {name: PhaseCost(statistics.median(seconds[name]), peaks[name]) for name in phases}


def distill_cost(distill_model: nn.Module, student_cfg, batches: List[tuple], iters: int = 20,
                 warmup: int = 3, lr: float = 1e-4,
                 clock: Callable[[], float] = time.perf_counter,
                 amp: bool = False) -> Dict[str, float]:
    """Time and memory of a student step, the teacher's forward and a distilled step, with a
    breakdown of the distilled step.

    Phases, round-robin on the same batch (see :class:`DistillPhases`): ``student_step``,
    ``distill_step``, ``teacher_forward`` (all the teacher work of that distilled step),
    ``teacher_backbone_neck`` (of which backbone and neck), ``distillers`` (connectors and
    losses, forward and backward).

    Returns seconds (``*_s``) and peak MiB (``*_peak_mb``) of each phase, ``overhead =
    t(distill step) / (t(student step) + t(teacher forward))`` (1.0 is the floor: the teacher's
    forward cannot be skipped), ``rest_s``: what the distilled step spends beyond student step,
    teacher forward and distillers (optimizer step of the connectors, taps, noise), and
    ``memory_overhead`` on peaks alike. ``clock``: see :func:`measure`. ``amp``: every phase
    under mixed precision (:meth:`DistillPhases.autocast`).
    """
    device = next(distill_model.parameters()).device
    distill_model.train()
    phases = DistillPhases(distill_model, student_alone(distill_model, student_cfg), lr, amp)
    costs = measure(phases.as_dict(), batches, iters, warmup, device, clock)
    result = {f'{name}_s': cost.seconds for name, cost in costs.items()}
    result.update({f'{name}_peak_mb': cost.peak_bytes / 2**20 for name, cost in costs.items()})
    floor = result['student_step_s'] + result['teacher_forward_s']
    result['overhead'] = result['distill_step_s'] / floor
    result['rest_s'] = result['distill_step_s'] - floor - result['distillers_s']
    peak_floor = costs['student_step'].peak_bytes + costs['teacher_forward'].peak_bytes
    result['memory_overhead'] = (costs['distill_step'].peak_bytes / peak_floor if peak_floor
                                 else float('nan'))
    return result


def synthetic_batches(model: nn.Module, count: int, batch_size: int, size: Tuple[int, int],
                      num_classes: int, with_mask: bool = False, device: str = 'cpu') -> list:
    """``count`` batches of random images of ``size`` (width, height; pixels, as after the
    resize of a training pipeline) with 1-9 random boxes each (mmdet's ``demo_mm_inputs``;
    masks too with ``with_mask``), through ``model``'s data preprocessor: the cost of a step at
    a given size without the data set. Returns ``[(inputs (B, 3, H', W'), data_samples)]``,
    ``H', W'`` padded as the preprocessor pads."""
    from mmdet.testing import demo_mm_inputs
    width, height = size
    # one call for all images: demo_mm_inputs seeds its generator on every call
    images = demo_mm_inputs(count * batch_size, (3, height, width), num_classes=num_classes,
                            with_mask=with_mask)
    batches = []
    for start in range(0, count * batch_size, batch_size):
        data = model.data_preprocessor({key: value[start:start + batch_size]
                                        for key, value in images.items()}, True)
        batches.append((data['inputs'].to(device), data['data_samples']))
    return batches


def method_distillers(methods: str) -> List[dict]:
    """The distiller configs of ``methods``: names of the recipe search's terms
    (:data:`mmkd.apis.search.TERMS`) joined by ``+`` (``'pkd+rpn_roi_kd'``), each distiller at
    its own default weight (the paper's). Not at one weight for all: a step's compute does not
    depend on the weight, but the steps after an optimizer step do, and a loss summed over a
    map (MGD's) at weight 1 sends the weights to infinity within a step or two at COCO size."""
    from .search.space import TERMS
    known = {term.name: term for term in TERMS}
    configs = []
    for name in methods.split('+'):
        if name not in known:
            raise ValueError(f'{methods!r}: {name!r} is not one of {sorted(known)}')
        configs += [dict(cfg) for cfg in known[name].distillers]
    return configs


PROFILE_RANGES = ('mmkd:student_loss', 'mmkd:student_records', 'mmkd:teacher_records',
                  'mmkd:distill_losses', 'mmkd:backward', 'mmkd:optimizer_step')


def profile_distill_step(distill_model: nn.Module, student_cfg, batch: tuple, top: int = 15,
                         lr: float = 1e-4) -> Tuple[Dict[str, float], str]:
    """One distilled training step (losses, backward, SGD step) under ``torch.profiler``, after
    one unprofiled step.

    Returns the seconds of each part of the step (:data:`PROFILE_RANGES`: the ranges
    ``DistillDetector.distill_step`` and the update mark; CPU time, children included) and a
    table of the ``top`` operators by self time (CPU, or CUDA on a GPU)."""
    device = next(distill_model.parameters()).device
    distill_model.train()
    phases = DistillPhases(distill_model, student_alone(distill_model, student_cfg), lr)
    phases.distill_step(*batch)
    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as trace:
        phases.distill_step(*batch)
        if device.type == 'cuda':
            torch.cuda.synchronize()
    averages = trace.key_averages()
    ranges = {event.key: event.cpu_time_total / 1e6 for event in averages
              if event.key in PROFILE_RANGES}
    sort = 'self_cuda_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    return ({name: ranges.get(name, 0.0) for name in PROFILE_RANGES},
            averages.table(sort_by=sort, row_limit=top))
