"""The interface every distiller implements."""
from typing import Dict, Sequence

import torch
from mmengine.model import BaseModule


class BaseDistiller(BaseModule):
    """One distillation method: reads one tapped module in each model, returns named losses.

    :class:`~mmkd.models.DistillDetector` installs a tap on ``student`` and on ``teacher`` (dotted
    module paths), calls :meth:`setup` once at build time with the outputs of a probe forward
    (batch of 1), so connectors can be sized from the two models, then calls :meth:`forward`
    every training step with the outputs recorded in that step.

    Args:
        student (str): dotted path of the student module to read, e.g. ``'neck'``.
        teacher (str): dotted path of the teacher module to read.
        loss_weight (float): multiplies every loss the distiller returns.
    """

    def __init__(self, student: str, teacher: str, loss_weight: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.student_path = student
        self.teacher_path = teacher
        self.loss_weight = loss_weight

    def setup(self, student_output, teacher_output) -> None:
        """Build whatever depends on the two models; ``*_output`` come from a probe forward."""

    def forward(self, student_output, teacher_output) -> Dict[str, torch.Tensor]:
        raise NotImplementedError


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
