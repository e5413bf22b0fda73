"""The interface every distiller implements."""
import difflib
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from mmkd.utils.records import average_records
from ..teacher import PROBE_SIZE
from .relative_weight import RelativeLossWeight


class BaseDistiller(BaseModule):
    """One distillation method: reads tapped parts of both models, returns named losses.

    A distiller names what it reads as ``{role: dotted path}`` in each model
    (``student_taps``, ``teacher_taps``). :class:`~mmkd.models.DistillDetector` installs
    the taps and calls, in this order:

    * :meth:`check_pair` at build time, before its taps are installed, with both models;
    * :meth:`setup` once at build time, with what a probe forward of both models' backbone and
      neck recorded (batch of 1), so connectors can be sized and heads checked;
    * every training step, :meth:`teacher_forward` under ``no_grad`` with that step's records
      of both models, for what the distiller needs of the teacher beyond its taps (a head on
      the student's RoIs, say), merged into the teacher's records; all teacher work of a step
      is one measurable part (``tools/benchmark.py``);
    * then :meth:`forward`, which returns :meth:`loss` with every ``loss*`` entry times
      ``loss_weight`` (other entries, e.g. a logged fraction, as they are), given the step's
      detection loss for a relative weight.

    A method implements :meth:`loss` (unweighted) and, as needed, :meth:`setup` and
    :meth:`teacher_forward`. Records map each role to what its tap recorded (fp32).

    Attributes:
        student_loss_scales (dict): factors for the student's own losses by name (e.g. the
            ``mu`` of soft-label KD on ``loss_cls``); applied by the DistillDetector.
        teacher_work (str): what the teacher runs for this distiller, in words (printed by
            ``tools/inspect_distill.py``).
        averages_teachers (bool): whether :meth:`merge_teachers` can stand for several
            teachers (``read_teacher='mean'``); False where averaging its records would not be
            an ensemble (a head's logits, say).
        bounded_losses (tuple[str]): the losses (names as :meth:`loss` returns them) that are
            bounded by design: zero where the student already beats the teacher (a hinge on
            the teacher's error, say). Their size tells where the bound is active, not how much
            they weigh, so ``tools/inspect_distill.py`` suggests no weight for them.

    Args:
        student_taps, teacher_taps (dict): role -> dotted path of a module or method.
        loss_weight (float | dict): multiplies every loss the distiller returns; or
            ``dict(ratio=r, over_iters=n)``: the weight that makes the sum of those losses ``r``
            times the student's detection loss, averaged over the first ``n`` training
            iterations (default 50) and then fixed (:class:`RelativeLossWeight`: logged as
            ``weight_<first loss name>``, kept in the checkpoint, so a resumed run keeps it).
    """

    teacher_work = 'backbone + neck'
    averages_teachers = True
    bounded_losses: Tuple[str, ...] = ()

    def __init__(self, student_taps: Dict[str, str], teacher_taps: Dict[str, str],
                 loss_weight: Union[float, dict] = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.student_taps = dict(student_taps)
        self.teacher_taps = dict(teacher_taps)
        self.relative_weight = (RelativeLossWeight.from_config(loss_weight)
                                if isinstance(loss_weight, dict) else None)
        self._loss_weight = None if self.relative_weight else loss_weight
        self.student_loss_scales: Dict[str, float] = {}

    @property
    def loss_weight(self) -> float:
        """The weight in force, the configured number or the relative weight's current value
        (NaN before its first training iteration)."""
        if self.relative_weight is None:
            return self._loss_weight
        return self.relative_weight.weight.item()

    def check_pair(self, student_model: nn.Module, teacher_model: nn.Module) -> None:
        """Raise a ValueError, naming both sides, where the two detectors are not of the kind
        the method reads (before its taps look for their modules). Default: no check."""

    def setup(self, student_records: dict, teacher_records: dict, student_model: nn.Module,
              teacher_model: nn.Module) -> None:
        """Build and check whatever depends on the two models (``teacher_model`` is the
        teacher detector); the records hold what the probe recorded (backbone and neck taps
        only)."""

    def teacher_forward(self, student_records: dict, teacher_records: dict,
                        teacher: nn.Module) -> Dict[str, torch.Tensor]:
        """What this distiller needs of ``teacher`` (a :class:`~mmkd.models.FrozenTeacher`)
        beyond its taps, given this step's records; run under ``no_grad``. Default: nothing."""
        return {}

    def merge_teachers(self, teacher_records: List[dict]) -> dict:
        """One teacher's records made of several teachers' (``read_teacher='mean'``): by
        default each record averaged element-wise (feature maps of one shape per level). A
        distiller reading probabilities overrides this to average those instead."""
        return average_records(teacher_records, 'teacher records')

    def loss(self, student_records: dict, teacher_records: dict) -> Dict[str, torch.Tensor]:
        """The method's named losses (``loss_*``, unweighted) and logged values."""
        raise NotImplementedError

    def aligned_levels(self, student_records: dict, teacher_records: dict) -> list:
        """For distillers that compare feature levels: per paired level ``(LevelPair, student
        map through the distiller's connector, teacher map)``, the two maps as the loss compares
        them. What ``tools/inspect_distill.py`` draws; default: none."""
        return []

    def forward(self, student_records: dict, teacher_records: dict,
                detection_loss: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """:meth:`loss`, each ``loss*`` entry times ``loss_weight``.

        Args:
            detection_loss: the student's detection loss of this step (a scalar), which a
                relative weight takes into its calibration in training mode.
        """
        losses = self.loss(student_records, teacher_records)
        if self.relative_weight is None:
            return {name: value * self._loss_weight if name.startswith('loss') else value
                    for name, value in losses.items()}
        names = [name for name in losses if name.startswith('loss')]
        weight = self.relative_weight.weight
        if self.training and detection_loss is not None:
            unweighted = sum(summed_loss(losses[name]) for name in names)
            weight = self.relative_weight.observe(detection_loss, unweighted,
                                                  type(self).__name__)
        if torch.isnan(weight):
            raise RuntimeError(f'{type(self).__name__}: loss_weight=dict(ratio=...) is set from '
                               'the detection loss of the first training iterations, and none '
                               'has been seen yet (give the detection loss to forward)')
        weighted = {name: scale_loss(value, weight) if name.startswith('loss') else value
                    for name, value in losses.items()}
        weighted['weight_' + names[0][len('loss'):].lstrip('_')] = weight.float()
        return weighted


def summed_loss(value) -> torch.Tensor:
    """A loss entry (a tensor or a list of per-level tensors) as one scalar, as mmengine's
    ``parse_losses`` sums it."""
    if isinstance(value, (list, tuple)):
        return sum(item.mean() for item in value)
    return value.mean()


def detection_loss(losses: Dict[str, torch.Tensor]) -> torch.Tensor:
    """The total of a detector's loss dict, as mmengine's ``parse_losses`` optimises it: the
    entries whose name contains ``loss``, each summed to a scalar."""
    return sum(summed_loss(value) for name, value in losses.items() if 'loss' in name)


def scale_loss(value, factor):
    """A loss entry (a tensor or a list of them) times ``factor`` (a number, or a 0-d tensor
    cast to each entry's dtype)."""
    def scaled(item):
        return item * (factor.to(item.dtype) if torch.is_tensor(factor) else factor)
    if isinstance(value, (list, tuple)):
        return [scaled(item) for item in value]
    return scaled(value)


@dataclass(frozen=True)
class LevelPair:
    """One feature level both models have: its stride (input pixels per map cell) and its index
    in each model's tuple of levels."""
    stride: int
    student: int
    teacher: int


def level_strides(feats: Sequence[torch.Tensor], input_size: int = PROBE_SIZE) -> List[int]:
    """Strides of (N, C, H, W) maps computed from an input of ``input_size`` pixels a side."""
    return [max(1, round(input_size / feat.shape[-1])) for feat in feats]


def pair_levels(student_feats: Sequence[torch.Tensor], teacher_feats: Sequence[torch.Tensor],
                distiller: str, student_path: str, teacher_path: str,
                strides: Optional[Sequence[int]] = None,
                input_size: int = PROBE_SIZE) -> List[LevelPair]:
    """Pair two feature pyramids level by level **by stride**, shallow to deep.

    The strides come from the probe (``input_size`` / map width): the levels both models have
    are paired, the others skipped, so a Faster R-CNN FPN (strides 4-64) pairs with a RetinaNet
    one (8-128) on 8-64. ``strides`` picks some of the shared ones.

    Raises:
        ValueError: a tapped module does not return a tuple of maps, no stride is shared (both
            lists named), or a stride asked for is not shared.
    """
    if not isinstance(student_feats, (tuple, list)) or not isinstance(teacher_feats, (tuple, list)):
        raise ValueError(f'{distiller} pairs feature levels, so it needs modules that return a '
                         f'tuple of (N, C, H, W) maps: student {student_path!r} returns '
                         f'{type(student_feats).__name__}, teacher {teacher_path!r} returns '
                         f'{type(teacher_feats).__name__}')
    student_strides = level_strides(student_feats, input_size)
    teacher_strides = level_strides(teacher_feats, input_size)
    shared = sorted(set(student_strides) & set(teacher_strides))
    if not shared:
        raise ValueError(f'{distiller}: no feature level of the same stride: student '
                         f'{student_path!r} has strides {student_strides}, teacher '
                         f'{teacher_path!r} {teacher_strides}')
    if strides is not None:
        missing = sorted(set(strides) - set(shared))
        if missing:
            raise ValueError(f'{distiller}: strides={list(strides)} asks for {missing}, which '
                             f'the two models do not share (shared: {shared}; student '
                             f'{student_strides}, teacher {teacher_strides})')
        shared = sorted(set(strides))
    return [LevelPair(stride, student_strides.index(stride), teacher_strides.index(stride))
            for stride in shared]


def common_crop(student_map: torch.Tensor, teacher_map: torch.Tensor):
    """Both (N, C, H, W) maps of one stride cut to their common top-left part (min H, min W).

    Where the two models pad the batch to different multiples (``pad_size_divisor``), their maps
    of one stride differ by that extra padding, which mmdet puts right and bottom; the images
    themselves sit top-left in both. Maps of equal size are returned as they are.
    """
    height = min(student_map.shape[-2], teacher_map.shape[-2])
    width = min(student_map.shape[-1], teacher_map.shape[-1])
    return student_map[..., :height, :width], teacher_map[..., :height, :width]


def log_level_pairs(distiller: str, pairs: Sequence[LevelPair],
                    student_feats: Sequence[torch.Tensor], teacher_feats: Sequence[torch.Tensor],
                    connector: str) -> None:
    """One log line with the pairing: stride, level index and channels on each side."""
    print_log(f'{distiller}: levels paired by stride: ' + '; '.join(
        f'stride {pair.stride}: student [{pair.student}] {student_feats[pair.student].shape[1]} '
        f'ch -> teacher [{pair.teacher}] {teacher_feats[pair.teacher].shape[1]} ch'
        for pair in pairs) + f' ({connector})', logger='current')


def registered_distillers() -> list:
    """Names of the distillers in mmkd's model registry (mmkd's own and the user's)."""
    from mmkd.registry import MODELS
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, BaseDistiller))


def build_distiller(cfg: dict) -> BaseDistiller:
    """Build one distiller from ``cfg``; an unknown ``type`` lists the registered distillers."""
    from mmkd.registry import MODELS
    type_name = cfg.get('type') if isinstance(cfg, dict) else None
    cls = MODELS.get(type_name) if isinstance(type_name, str) else type_name
    if not (isinstance(cls, type) and issubclass(cls, BaseDistiller)):
        known = registered_distillers()
        near = difflib.get_close_matches(str(type_name).split('.')[-1], known, n=3)
        hint = f'; did you mean {near}?' if near else ''
        raise KeyError(f'type={type_name!r} is not a registered distiller{hint} Registered: '
                       f'{known}. A distiller of your own must subclass BaseDistiller and be '
                       f'registered in mmkd.registry.MODELS by a module named in custom_imports')
    return MODELS.build(cfg)
