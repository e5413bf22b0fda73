"""The interface every distiller implements."""
import difflib
from typing import Dict, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn


class BaseDistiller(BaseModule):
    """One distillation method: reads tapped parts of both models, returns named losses.

    A distiller names what it reads as ``{role: dotted path}`` in each model
    (:attr:`student_taps`, :attr:`teacher_taps`). :class:`~mmkd.models.DistillDetector` installs
    the taps and calls, in this order:

    * :meth:`setup` once at build time, with what a probe forward of both models' backbone and
      neck recorded (batch of 1), so connectors can be sized and heads checked;
    * every training step, :meth:`teacher_forward` under ``no_grad`` with that step's records
      of both models, for what the distiller needs of the teacher beyond its taps (a head on
      the student's RoIs, say), merged into the teacher's records; all teacher work of a step
      is one measurable part (``tools/benchmark.py``);
    * then :meth:`forward`, which returns :meth:`loss` with every ``loss*`` entry times
      ``loss_weight`` (other entries, e.g. a logged fraction, as they are).

    A method implements :meth:`loss` (unweighted) and, as needed, :meth:`setup` and
    :meth:`teacher_forward`. Records map each role to what its tap recorded (fp32).

    Attributes:
        student_loss_scales (dict): factors for the student's own losses by name (e.g. the
            ``mu`` of soft-label KD on ``loss_cls``); applied by the DistillDetector.

    Args:
        student_taps, teacher_taps (dict): role -> dotted path of a module or method.
        loss_weight (float): multiplies every loss the distiller returns.
    """

    def __init__(self, student_taps: Dict[str, str], teacher_taps: Dict[str, str],
                 loss_weight: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.student_taps = dict(student_taps)
        self.teacher_taps = dict(teacher_taps)
        self.loss_weight = loss_weight
        self.student_loss_scales: Dict[str, float] = {}

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

    def loss(self, student_records: dict, teacher_records: dict) -> Dict[str, torch.Tensor]:
        """The method's named losses (``loss_*``, unweighted) and logged values."""
        raise NotImplementedError

    def forward(self, student_records: dict, teacher_records: dict) -> Dict[str, torch.Tensor]:
        """:meth:`loss`, each ``loss*`` entry times ``loss_weight``."""
        return {name: value * self.loss_weight if name.startswith('loss') else value
                for name, value in self.loss(student_records, teacher_records).items()}


def check_level_pairs(student_feats: Sequence[torch.Tensor], teacher_feats: Sequence[torch.Tensor],
                      distiller: str, student_path: str, teacher_path: str) -> None:
    """Raise a ValueError naming both sides when two feature pyramids cannot be paired level by
    level: different level counts or different spatial sizes at a level."""
    if not isinstance(student_feats, (tuple, list)) or not isinstance(teacher_feats, (tuple, list)):
        raise ValueError(f'{distiller} pairs feature levels, so it needs modules that return a '
                         f'tuple of (N, C, H, W) maps: student {student_path!r} returns '
                         f'{type(student_feats).__name__}, teacher {teacher_path!r} returns '
                         f'{type(teacher_feats).__name__}')
    if len(student_feats) != len(teacher_feats):
        raise ValueError(f'{distiller}: feature levels cannot be paired: student {student_path!r} '
                         f'gives {len(student_feats)} levels, teacher {teacher_path!r} '
                         f'{len(teacher_feats)} (set neck.num_outs alike in both models)')
    for level, (s, t) in enumerate(zip(student_feats, teacher_feats)):
        if s.shape[-2:] != t.shape[-2:]:
            raise ValueError(f'{distiller}: level {level} has size {tuple(s.shape[-2:])} in the '
                             f'student {student_path!r} but {tuple(t.shape[-2:])} in the teacher '
                             f'{teacher_path!r} (the two need the same strides)')


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
