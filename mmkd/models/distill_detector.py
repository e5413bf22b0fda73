"""A student detector trained against a frozen teacher by a list of distillers."""
import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.distributed as dist
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.logging import MessageHub, print_log
from mmengine.model import ModuleList
from mmengine.registry import DefaultScope
from torch.profiler import record_function

from mmkd.registry import MODELS
from mmkd.utils.records import as_fp32
from .distillers import build_distiller
from .distillers.base import detection_loss, scale_loss
from .taps import TapSet, records_by_role
from .teacher import FrozenTeacher, load_model_config, probe_features


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


def init_modules_from_teacher(student: torch.nn.Module, teacher: torch.nn.Module,
                              init_student: Union[bool, Sequence[str]],
                              config_key: str = 'model.init_student') -> List[str]:
    """The module paths ``init_student`` names (``True``: the teacher's modules with weights,
    but its backbone; ``False``: none), each checked to have the same state-dict keys and
    shapes in ``student`` and ``teacher``.

    Raises:
        ValueError: a path that one model lacks, or keys or shapes that differ (listed, with
            both shapes).
    """
    if init_student is False or init_student is None:
        return []
    if init_student is True:
        paths = [name for name, child in teacher.named_children()
                 if name != 'backbone' and child.state_dict()]
    elif isinstance(init_student, (list, tuple)) and init_student and all(
            isinstance(path, str) and path for path in init_student):
        paths = list(init_student)
    else:
        raise ValueError(f'{config_key}={init_student!r}: give True (every module but the '
                         "backbone), False, or a list of module paths such as ['neck', "
                         "'rpn_head']")
    problems = []
    for path in paths:
        modules = []
        for side, model in (('student', student), ('teacher', teacher)):
            try:
                modules.append(model.get_submodule(path))
            except AttributeError:
                children = [name for name, _ in model.named_children()]
                problems.append(f'the {side} has no module {path!r} (its modules: {children})')
        if len(modules) < 2:
            continue
        mine, theirs = (module.state_dict() for module in modules)
        only_student = sorted(set(mine) - set(theirs))
        only_teacher = sorted(set(theirs) - set(mine))
        shapes = [f'{path}.{key}: student {tuple(mine[key].shape)}, teacher '
                  f'{tuple(theirs[key].shape)}' for key in mine
                  if key in theirs and mine[key].shape != theirs[key].shape]
        if only_student or only_teacher:
            problems.append(f'{path} has keys only the student has {only_student[:5]} and '
                            f'keys only the teacher has {only_teacher[:5]}')
        if shapes:
            problems.append(f'{path} differs in {len(shapes)} shapes: ' + '; '.join(shapes[:5])
                            + ('; ...' if len(shapes) > 5 else ''))
    if problems:
        raise ValueError(f'{config_key}={init_student!r}: the student cannot start from the '
                         "teacher's weights: " + ' | '.join(problems) + '. It copies modules '
                         'of the same shapes in both models (FGD\'s and MGD\'s pairs differ '
                         'in the backbone only): name those that match, or set it False')
    return paths


@dataclass
class DistillStep:
    """What one distilled training step computed: all its losses (the student's, scaled, and
    the distillers'), and per distiller the student's and the teacher's ``{role: record}``."""
    losses: Dict[str, torch.Tensor]
    student_records: List[dict]
    teacher_records: List[dict]


@MODELS.register_module()
class DistillDetector(BaseDetector):
    """Trains ``student`` with its own losses plus the losses of ``distillers``.

    The teacher (a :class:`~mmkd.models.FrozenTeacher`) is deliberately *not* a submodule: it
    has no entry in ``parameters()`` (so never in the optimizer, never synced by DDP), none in
    ``state_dict()`` (checkpoints hold student and connectors only; the teacher reloads from
    its own file on resume), and ``train()`` and ``init_weights()`` do not reach it.
    ``to()``/``cuda()`` do, through ``_apply``.

    A training step (:meth:`distill_step`): the student's loss forward while its taps record,
    the teacher's work under ``no_grad`` (:meth:`teacher_records`), then each distiller's named
    losses (:meth:`distill_losses`). Inference is the student alone.

    Args:
        student (dict): any mmdet detector config (or a whole config with a ``model`` key), or
            an ``mmdet::`` / file path of a config.
        teacher (dict): ``config`` (file path, ``mmdet::`` path or dict), ``checkpoint`` (path),
            and the optional switches of :class:`~mmkd.models.FrozenTeacher`
            (``trust_checkpoint``, ``fp16``, ``channels_last``).
        distillers (list[dict]): configs of :class:`BaseDistiller` subclasses. With several
            teachers each may add ``read_teacher``: the index of the one it reads (default 0),
            or ``'mean'``: all of them, merged by the distiller's ``merge_teachers`` (feature
            maps averaged; DenseLogitKD averages probabilities). The losses of one that reads
            one teacher of several are named after it (``teacher1.loss_pkd``), so that a
            distiller of one kind can learn from each teacher in turn.
        data_preprocessor (dict, optional): default: the student's.
        nonfinite_loss (str): what a NaN/inf loss does: ``'stop'`` (default) raises
            ``FloatingPointError`` naming the losses and the iteration; ``'skip'`` logs the same
            and skips that step's update (no parameter gets a gradient, so neither momentum nor
            weight decay moves anything; BN statistics of its forward are kept).
        teachers (list[dict], optional): several teachers (MEAL V2-style ensembles), each a
            ``teacher`` dict, loaded and frozen the same way; instead of ``teacher``. Each must
            be read by some distiller.
        init_student (bool | list[str]): start the student from the (first) teacher's weights
            of some modules, copied once after the student's own initialisation
            (:meth:`init_weights`; a ``load_from`` or a resumed checkpoint overrides them as it
            overrides any initialisation). ``True``: every module but the backbone, the rule of
            FGD's and MGD's authors (``init_student=True`` in their detection configs, whose
            teacher and student differ in the backbone only); a list of module paths
            (``['neck', 'rpn_head']``): those. Each must have the same keys and shapes in both
            models, checked at build (a mismatch names ``model.init_student``, the keys and
            both shapes). Default False.
    """

    NONFINITE_ACTIONS = ('stop', 'skip')

    def __init__(self, student: Union[dict, str], teacher: Optional[dict] = None,
                 distillers: Optional[List[dict]] = None,
                 data_preprocessor: Union[dict, None] = None, nonfinite_loss: str = 'stop',
                 teachers: Optional[List[dict]] = None,
                 init_student: Union[bool, Sequence[str]] = False, init_cfg=None):
        if nonfinite_loss not in self.NONFINITE_ACTIONS:
            raise ValueError(f'model.nonfinite_loss={nonfinite_loss!r}: choose from '
                             f'{self.NONFINITE_ACTIONS}')
        student = load_model_config(student, 'model.student')
        if data_preprocessor is None:
            data_preprocessor = student.get('data_preprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.nonfinite_loss = nonfinite_loss
        self.student = MMDET_MODELS.build(student)
        if not distillers:
            raise ValueError('model.distillers is empty: name at least one distiller')
        # Everything built after the student draws from a fork of the random generator, so
        # that the student's initialisation (init_weights, run next by mmengine) draws the
        # numbers it draws when the student is trained alone: with the distill losses at
        # zero, the two runs are the same run.
        with torch.random.fork_rng(devices=[]):
            self._build_teachers(teacher, teachers)
            self._build_distillers(distillers)
        self.init_student = init_modules_from_teacher(self.student, self.teacher.detector,
                                                      init_student)

    def _build_teachers(self, teacher, teachers):
        if (teacher is None) == (teachers is None):
            raise ValueError('model: give either teacher (one dict) or teachers (a list of '
                             'them), not ' + ('both' if teacher is not None else 'neither'))
        if teachers is not None and (not isinstance(teachers, (list, tuple)) or not teachers):
            raise ValueError(f'model.teachers must be a non-empty list of teacher dicts; got '
                             f'{teachers!r}')
        configs = ([('model.teacher', teacher)] if teachers is None else
                   [(f'model.teachers[{index}]', cfg) for index, cfg in enumerate(teachers)])
        self._frozen = [FrozenTeacher.from_config(cfg, self.data_preprocessor, key)
                        for key, cfg in configs]

    def _build_distillers(self, distillers: List[dict]):
        # mmengine's ModuleList, so that init_weights reaches a distiller's init_cfg
        self.distillers = ModuleList()
        self.teachers_read: List[List[int]] = []     # per distiller, the teachers it reads
        self.student_taps = TapSet(self.student, 'student')
        for index, cfg in enumerate(distillers):
            with _errors_name(self._config_key(index, cfg)), \
                    DefaultScope.overwrite_default_scope('mmkd'):  # 'ReviewKD' or 'mmkd.ReviewKD'
                cfg = dict(cfg)
                read = self._teachers_read(cfg.pop('read_teacher', 0))
                distiller = build_distiller(cfg)
                for teacher in read:
                    distiller.check_pair(self.student, self._frozen[teacher].detector)
                if len(read) > 1 and not distiller.averages_teachers:
                    raise ValueError(f"read_teacher='mean': {type(distiller).__name__} does "
                                     f'not average teachers (its teacher records are a '
                                     f"head's outputs); name one teacher by its index")
                self.student_taps.add(distiller.student_taps.values())
                for teacher in read:
                    self._frozen[teacher].taps.add(distiller.teacher_taps.values())
            self.distillers.append(distiller)
            self.teachers_read.append(read)
        # with several teachers, what a distiller learns from one of them is named after it
        self.loss_prefixes = [f'teacher{read[0]}.' if len(self._frozen) > 1 and len(read) == 1
                              else '' for read in self.teachers_read]
        unread = sorted(set(range(len(self._frozen))) - {t for r in self.teachers_read for t in r})
        if unread:
            raise ValueError(f'model.teachers{unread} are read by no distiller: set a '
                             f"distiller's read_teacher to their index or to 'mean'")
        self._setup_distillers(distillers)

    def _teachers_read(self, read) -> List[int]:
        if read == 'mean':
            return list(range(len(self._frozen)))
        if isinstance(read, bool) or not isinstance(read, int) \
                or not 0 <= read < len(self._frozen):
            raise ValueError(f"read_teacher={read!r}: give the index of a teacher (0 to "
                             f"{len(self._frozen) - 1}) or 'mean'")
        return [read]

    @staticmethod
    def _config_key(index: int, cfg) -> str:
        kind = cfg.get('type') if isinstance(cfg, dict) else None
        return f'model.distillers[{index}]' + (f' ({kind})' if isinstance(kind, str) else '')

    @property
    def teacher(self) -> FrozenTeacher:
        """The (first) teacher."""
        return self._frozen[0]

    @property
    def teachers(self) -> List[FrozenTeacher]:
        """All teachers, in the order of ``model.teachers``."""
        return list(self._frozen)

    def _setup_distillers(self, configs):
        """Size each distiller's connectors from a probe forward of the backbones and necks."""
        with self.student_taps.recording(require_all=False) as student_records:
            probe_features(self.student)
        probes = []
        for teacher in self._frozen:
            with teacher.taps.recording(require_all=False) as teacher_records:
                probe_features(teacher.detector)
            probes.append(teacher_records)
        for index, (distiller, cfg, read) in enumerate(zip(self.distillers, configs,
                                                           self.teachers_read)):
            with _errors_name(self._config_key(index, cfg)):
                teacher_records = [records_by_role(distiller.teacher_taps, probes[t]) for t in read]
                distiller.setup(records_by_role(distiller.student_taps, student_records),
                                teacher_records[0] if len(read) == 1
                                else distiller.merge_teachers(teacher_records),
                                self.student, self._frozen[read[0]].detector)

    def init_weights(self):
        """The student's and the distillers' initialisation, then the copy of the teacher's
        weights asked for by ``init_student``."""
        super().init_weights()
        if self.init_student:
            copied = 0
            for path in self.init_student:
                state = self.teacher.detector.get_submodule(path).state_dict()
                self.student.get_submodule(path).load_state_dict(state)
                copied += len(state)
            print_log(f'model.init_student: the student\'s {", ".join(self.init_student)} '
                      f'start from the teacher\'s weights ({copied} tensors)', logger='current')

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for teacher in self._frozen:
            teacher._apply(fn, *args, **kwargs)
        return self

    def loss(self, batch_inputs: torch.Tensor, batch_data_samples) -> Dict[str, torch.Tensor]:
        return self.distill_step(batch_inputs, batch_data_samples).losses

    def distill_step(self, batch_inputs: torch.Tensor, batch_data_samples) -> DistillStep:
        """The losses of one training step, and the records the distillers read.

        Args:
            batch_inputs: (N, 3, H, W) as the student's preprocessor made them.
            batch_data_samples: their ``DetDataSample`` list.
        """
        # the record_function ranges name the parts of a step in a torch.profiler trace
        with record_function('mmkd:student_loss'), self.student_taps.recording() as tapped:
            losses = self.student.loss(batch_inputs, batch_data_samples)
        with record_function('mmkd:student_records'):
            records = as_fp32(tapped)
            students = [records_by_role(distiller.student_taps, records)
                        for distiller in self.distillers]
        with record_function('mmkd:teacher_records'):
            teachers = self.teacher_records(batch_inputs, batch_data_samples, students)
        for distiller in self.distillers:
            for name, factor in distiller.student_loss_scales.items():
                if name not in losses:
                    raise KeyError(f'{type(distiller).__name__} scales the student loss '
                                   f'{name!r}, which the student does not return '
                                   f'(it returns {sorted(losses)})')
                losses[name] = scale_loss(losses[name], factor)
        detection = None                # only relative weights read it
        if any(distiller.relative_weight is not None for distiller in self.distillers):
            detection = detection_loss(losses)
        with record_function('mmkd:distill_losses'):
            distilled = self.distill_losses(students, teachers, detection)
        for name, value in distilled.items():
            if name in losses:
                raise KeyError(f'a distiller returns the loss {name!r}, which the student '
                               f'already returns')
            losses[name] = value
        return DistillStep(losses, students, teachers)

    def teacher_records(self, batch_inputs: torch.Tensor, batch_data_samples,
                        student_records: List[dict]) -> List[dict]:
        """All the teacher work of a step, under ``no_grad``: each teacher's backbone and neck
        (:meth:`FrozenTeacher.features`), then each distiller's ``teacher_forward`` on its
        ``student_records`` (RoIs, say) with each teacher it reads, merged by its
        ``merge_teachers`` where it reads several. Returns per distiller ``{role: record}``
        (fp32)."""
        features = self.teacher_features(batch_inputs, batch_data_samples)
        try:
            return [self.read_teachers(index, student, features, batch_inputs.device)
                    for index, student in enumerate(student_records)]
        finally:
            for teacher in self._frozen:
                teacher.step_memo.clear()

    def teacher_features(self, batch_inputs: torch.Tensor, batch_data_samples) -> List[dict]:
        """Each teacher's backbone and neck records (:meth:`FrozenTeacher.features`)."""
        return [teacher.features(batch_inputs, batch_data_samples) for teacher in self._frozen]

    def read_teachers(self, index: int, student_records: dict, features: List[dict],
                      device: torch.device, forward: bool = True) -> dict:
        """What distiller ``index`` reads of its teachers: its roles of each teacher's
        ``features``, plus (``forward``) its ``teacher_forward`` on ``student_records`` with
        that teacher, under ``no_grad``; merged by its ``merge_teachers`` where it reads
        several."""
        distiller = self.distillers[index]
        records = []
        for teacher_index in self.teachers_read[index]:
            teacher = records_by_role(distiller.teacher_taps, features[teacher_index])
            if forward:
                frozen = self._frozen[teacher_index]
                with torch.no_grad(), frozen.autocast(device):
                    teacher.update(as_fp32(distiller.teacher_forward(student_records, teacher,
                                                                     frozen)))
            records.append(teacher)
        return records[0] if len(records) == 1 else distiller.merge_teachers(records)

    def distill_losses(self, student_records: List[dict], teacher_records: List[dict],
                       detection_loss: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Every distiller's named losses (weighted), in fp32 whatever the step's autocast;
        two distillers returning one name is an error. With several teachers, a distiller
        that reads one of them names its losses after it (``teacher<i>.``).
        ``detection_loss`` (the sum of the student's losses, as mmengine sums them) sets the
        relative weights (``loss_weight=dict(ratio=...)``)."""
        losses = {}
        device_type = next(self.student.parameters()).device.type
        with torch.autocast(device_type, enabled=False):
            for distiller, prefix, student, teacher in zip(self.distillers, self.loss_prefixes,
                                                           student_records, teacher_records):
                distilled = {prefix + name: value for name, value
                             in distiller(student, teacher, detection_loss).items()}
                clash = set(distilled) & set(losses)
                if clash:
                    raise KeyError(f'{type(distiller).__name__} returns losses {sorted(clash)} '
                                   f'that another distiller already returns')
                losses.update(distilled)
        return losses

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
        return self.student.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self, batch_inputs, batch_data_samples=None):
        return self.student._forward(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs):
        return self.student.extract_feat(batch_inputs)
