"""A student detector trained against a frozen teacher by a list of distillers."""
import contextlib
import logging
import math
from typing import Dict, List, Union

import torch
import torch.distributed as dist
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub, print_log
from mmengine.registry import DefaultScope
from torch import nn

from mmkd.registry import MODELS
from .distillers import build_distiller
from .input_adapter import TeacherInputAdapter
from .taps import Tap
from .teacher import build_frozen_teacher, load_model_config, probe_features


def _to_float(output):
    """Tensors inside (nested tuples, lists, dicts of) ``output`` as fp32: distill losses are
    computed in fp32 whatever the autocast dtype. fp32 tensors are passed through, not copied."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.is_floating_point() else output
    if isinstance(output, (tuple, list)):
        return type(output)(_to_float(item) for item in output)
    if isinstance(output, dict):
        return {key: _to_float(value) for key, value in output.items()}
    return output


@contextlib.contextmanager
def _errors_name(config_key: str):
    """Prefix the message of a KeyError, ValueError, RuntimeError or TypeError raised inside with
    the config key it concerns (exact types only: subclasses may take other arguments)."""
    try:
        yield
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        if type(err) not in (KeyError, ValueError, RuntimeError, TypeError):
            raise
        message = err.args[0] if err.args else ''
        raise type(err)(f'{config_key}: {message}').with_traceback(err.__traceback__) from None


def _fp16_autocast():
    return torch.autocast('cuda', torch.float16)


def _scale(loss, factor):
    return [item * factor for item in loss] if isinstance(loss, list) else loss * factor


@MODELS.register_module()
class DistillDetector(BaseDetector):
    """Trains ``student`` with its own losses plus the losses of ``distillers``.

    The teacher is built from its config, loaded strictly from its checkpoint and frozen. It is
    deliberately *not* a submodule: it has no entry in ``parameters()`` (so never in the
    optimizer, never synced by DDP), none in ``state_dict()`` (checkpoints hold student and
    connectors only; the teacher reloads from its own file on resume), and ``train()`` and
    ``init_weights()`` do not reach it. ``to()``/``cuda()`` do, through :meth:`_apply`.

    Per training step: the student's loss forward (taps record what distillers read), the
    teacher's work under ``no_grad`` (:meth:`teacher_records`: backbone + neck, then what each
    distiller's ``teacher_forward`` needs of it), then each distiller's named losses. Inference
    is the student alone.

    Args:
        student (dict): any mmdet detector config (or a whole config with a ``model`` key).
        teacher (dict): ``config`` (file path, ``mmdet::`` path or dict), ``checkpoint`` (path),
            optional ``trust_checkpoint`` (bool, default False: see
            :func:`mmkd.utils.load_checkpoint_strict`), ``fp16`` (bool, default False: the
            teacher's forward under fp16 autocast on a GPU; no effect on the CPU) and
            ``channels_last`` (bool, default False: teacher weights and inputs in channels-last
            memory format, which GPU convolutions are fastest on; valid on the CPU too).
        distillers (list[dict]): configs of :class:`BaseDistiller` subclasses.
        data_preprocessor (dict, optional): default: the student's.
        nonfinite_loss (str): what a NaN/inf loss does: ``'stop'`` (default) raises
            ``FloatingPointError`` naming the losses and the iteration; ``'skip'`` logs the same
            and skips that step's update (no parameter gets a gradient, so neither momentum nor
            weight decay moves anything; BN statistics of its forward are kept).
    """

    NONFINITE_ACTIONS = ('stop', 'skip')

    def __init__(self, student: dict, teacher: dict, distillers: List[dict],
                 data_preprocessor: Union[dict, None] = None, nonfinite_loss: str = 'stop',
                 init_cfg=None):
        if nonfinite_loss not in self.NONFINITE_ACTIONS:
            raise ValueError(f'model.nonfinite_loss={nonfinite_loss!r}: choose from '
                             f'{self.NONFINITE_ACTIONS}')
        student = load_model_config(student)
        if data_preprocessor is None:
            data_preprocessor = student.get('data_preprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.nonfinite_loss = nonfinite_loss
        self.student = MMDET_MODELS.build(student)

        teacher = ConfigDict(teacher)
        missing = {'config', 'checkpoint'} - set(teacher)
        if missing:
            raise KeyError(f'model.teacher needs keys {sorted(missing)}; got {sorted(teacher)}')
        self._frozen = [build_frozen_teacher(teacher.config, teacher.checkpoint,
                                             teacher.get('trust_checkpoint', False))]
        self.teacher_input = TeacherInputAdapter(self.data_preprocessor,
                                                 self.teacher.data_preprocessor)
        self.teacher_fp16 = bool(teacher.get('fp16', False))
        self.teacher_channels_last = bool(teacher.get('channels_last', False))
        if self.teacher_channels_last:
            self.teacher.to(memory_format=torch.channels_last)

        if not distillers:
            raise ValueError('model.distillers is empty: name at least one distiller')
        self.distillers = nn.ModuleList()
        self.student_taps, self.teacher_taps = {}, {}   # one tap per path, shared by distillers
        for index, cfg in enumerate(distillers):
            with _errors_name(self._config_key(index, cfg)), \
                    DefaultScope.overwrite_default_scope('mmkd'):  # 'ReviewKD' or 'mmkd.ReviewKD'
                distiller = build_distiller(cfg)
                self._add_taps(self.student_taps, self.student, 'student', distiller.student_taps)
                self._add_taps(self.teacher_taps, self.teacher, 'teacher', distiller.teacher_taps)
            self.distillers.append(distiller)
        self._setup_distillers(distillers)

    @staticmethod
    def _add_taps(taps: Dict[str, Tap], model: nn.Module, side: str, role_paths: Dict[str, str]):
        for path in role_paths.values():
            if path not in taps:
                taps[path] = Tap(model, path, side)

    @staticmethod
    def _config_key(index: int, cfg) -> str:
        kind = cfg.get('type') if isinstance(cfg, dict) else None
        return f'model.distillers[{index}]' + (f' ({kind})' if isinstance(kind, str) else '')

    @property
    def teacher(self) -> nn.Module:
        return self._frozen[0]

    def _setup_distillers(self, configs):
        """Size each distiller's connectors from a probe forward of both backbones and necks."""
        probe_features(self.student)
        probe_features(self.teacher)
        student_out = {path: tap.take() for path, tap in self.student_taps.items() if tap.recorded}
        teacher_out = {path: tap.take() for path, tap in self.teacher_taps.items() if tap.recorded}
        for index, (distiller, cfg) in enumerate(zip(self.distillers, configs)):
            with _errors_name(self._config_key(index, cfg)):
                distiller.setup(self._roles(distiller.student_taps, student_out),
                                self._roles(distiller.teacher_taps, teacher_out), self.student,
                                self.teacher)

    @staticmethod
    def _take(taps: Dict[str, Tap]) -> dict:
        return {path: tap.take() for path, tap in taps.items()}

    @staticmethod
    def _roles(role_paths: Dict[str, str], records: dict) -> dict:
        return {role: records[path] for role, path in role_paths.items() if path in records}

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    def loss(self, batch_inputs: torch.Tensor, batch_data_samples) -> Dict[str, torch.Tensor]:
        losses = self.student.loss(batch_inputs, batch_data_samples)
        students = self.student_records()
        teachers = self.teacher_records(batch_inputs, students)
        with torch.autocast(batch_inputs.device.type, enabled=False):
            for distiller, student, teacher in zip(self.distillers, students, teachers):
                for name, factor in distiller.student_loss_scales.items():
                    if name not in losses:
                        raise KeyError(f'{type(distiller).__name__} scales the student loss '
                                       f'{name!r}, which the student does not return '
                                       f'(it returns {sorted(losses)})')
                    losses[name] = _scale(losses[name], factor)
                distill_losses = distiller(student, teacher, self.teacher)
                clash = set(distill_losses) & set(losses)
                if clash:
                    raise KeyError(f'{type(distiller).__name__} returns losses {sorted(clash)} '
                                   f'that another loss already uses')
                losses.update(distill_losses)
        return losses

    def student_records(self) -> List[dict]:
        """Per distiller, ``{role: record}`` of what the student's taps recorded in this step's
        loss forward (fp32); the taps are cleared."""
        records = _to_float(self._take(self.student_taps))
        return [self._roles(distiller.student_taps, records) for distiller in self.distillers]

    def teacher_features(self, batch_inputs: torch.Tensor) -> dict:
        """The teacher's backbone and neck on ``batch_inputs`` (N, 3, H, W) under ``no_grad``
        (fp16 autocast with ``teacher.fp16`` on a GPU, channels-last inputs with
        ``teacher.channels_last``); returns ``{tap name: record}`` (fp32), the taps cleared."""
        inputs = self.teacher_input(batch_inputs)
        if self.teacher_channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            with _fp16_autocast() if self._teacher_half(batch_inputs) else contextlib.nullcontext():
                self.teacher.extract_feat(inputs)       # else: the step's own autocast
        return _to_float(self._take(self.teacher_taps))

    def teacher_records(self, batch_inputs: torch.Tensor, students: List[dict]) -> List[dict]:
        """All the teacher work of a step, under ``no_grad``: :meth:`teacher_features`, then
        each distiller's ``teacher_forward`` on its ``students`` records (RoIs, say). Returns per
        distiller ``{role: record}`` (fp32).

        With ``teacher.fp16`` on a GPU the heads too run under fp16 autocast; otherwise in fp32
        like the distill losses.
        """
        records = self.teacher_features(batch_inputs)
        teachers = [self._roles(distiller.teacher_taps, records) for distiller in self.distillers]
        heads_autocast = (_fp16_autocast() if self._teacher_half(batch_inputs)
                          else torch.autocast(batch_inputs.device.type, enabled=False))
        with torch.no_grad(), heads_autocast:
            for distiller, student, teacher in zip(self.distillers, students, teachers):
                teacher.update(_to_float(distiller.teacher_forward(student, teacher,
                                                                   self.teacher)))
        return teachers

    def _teacher_half(self, batch_inputs: torch.Tensor) -> bool:
        return self.teacher_fp16 and batch_inputs.device.type == 'cuda'

    def parse_losses(self, losses):
        """mmengine's sum of the losses, with the non-finite guard (see ``nonfinite_loss``)."""
        loss, log_vars = super().parse_losses(losses)
        nonfinite = (~torch.isfinite(loss)).float()
        if dist.is_available() and dist.is_initialized():   # every rank skips, or none
            dist.all_reduce(nonfinite, op=dist.ReduceOp.MAX)
        if not nonfinite.item():
            return loss, log_vars
        bad = {name: value.item() for name, value in log_vars.items()
               if name.startswith('loss') and name != 'loss' and not math.isfinite(value.item())}
        where = MessageHub.get_current_instance().get_info('iter')
        message = (f'non-finite loss at iteration {where}: '
                   + (', '.join(f'{name}={value}' for name, value in bad.items())
                      or 'on another rank'))
        if self.nonfinite_loss == 'stop':
            raise FloatingPointError(f"{message}. Set model.nonfinite_loss='skip' to skip such "
                                     'steps, or lower the weight of the loss named')
        print_log(f'{message}: step skipped (model.nonfinite_loss=skip)', logger='current',
                  level=logging.WARNING)
        # a zero with no path to any parameter: no gradients, so the optimizer moves nothing
        return loss.new_zeros((), requires_grad=True), log_vars

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        results = self.student.predict(batch_inputs, batch_data_samples, rescale=rescale)
        self._clear_student_taps()
        return results

    def _forward(self, batch_inputs, batch_data_samples=None):
        results = self.student._forward(batch_inputs, batch_data_samples)
        self._clear_student_taps()
        return results

    def extract_feat(self, batch_inputs):
        return self.student.extract_feat(batch_inputs)

    def _clear_student_taps(self):
        for tap in self.student_taps.values():
            tap.clear()
