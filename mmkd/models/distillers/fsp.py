"""FSP: the flow of solution procedure (Yim et al., CVPR 2017) between pairs of layers."""
from typing import Dict, Optional, Sequence

import torch
from torch import nn

from mmkd.registry import MODELS
from ..connectors import Adapter
from ..losses import flow_matrix, fsp_distance
from .base import BaseDistiller


@MODELS.register_module()
class FSP(BaseDistiller):
    """For each named pair of layers of one spatial size (the first and the last block of a
    backbone stage, say), the student's flow matrix ``G = F1^T F2 / (H W)`` learns the
    teacher's (:func:`~mmkd.models.losses.flow_matrix`, squared Frobenius distance averaged over
    the images); summed over the pairs, times ``loss_weight`` (``loss_fsp``).

    Where a student layer is narrower than the teacher's, a 1x1 conv connector takes it to the
    teacher's width first, so the two matrices have one size (the paper pairs models of one
    width). The paper trains the FSP loss alone first and the task after; here it is one term
    of the distilled step, as every mmkd distiller.

    Args:
        student_pairs (Sequence[Sequence[str]]): ``[first, second]`` module paths of the
            student per pair, both returning (N, C, H, W) maps of one H, W; backbone or neck
            modules (the probe that sizes the connectors runs those).
        teacher_pairs (Sequence[Sequence[str]], optional): the teacher's; default the same
            paths (two models of one family).
        loss_weight (float): the paper's ``lambda`` of every pair, 1.
    """

    def __init__(self, student_pairs: Sequence[Sequence[str]],
                 teacher_pairs: Optional[Sequence[Sequence[str]]] = None,
                 loss_weight: float = 1.0, init_cfg=None):
        teacher_pairs = student_pairs if teacher_pairs is None else teacher_pairs
        if not student_pairs or len(student_pairs) != len(teacher_pairs) or any(
                len(pair) != 2 for pair in (*student_pairs, *teacher_pairs)):
            raise ValueError(f'FSP needs student_pairs (and teacher_pairs, if given) as a '
                             f'non-empty list of [first, second] module paths, one per pair; '
                             f'got student_pairs={student_pairs!r}, '
                             f'teacher_pairs={teacher_pairs!r}')
        super().__init__(self._roles(student_pairs), self._roles(teacher_pairs), loss_weight,
                         init_cfg)
        self.num_pairs = len(student_pairs)
        self.connectors = nn.ModuleList()

    @staticmethod
    def _roles(pairs) -> Dict[str, str]:
        return {f'{end}{index}': path for index, pair in enumerate(pairs)
                for end, path in zip(('first', 'second'), pair)}

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        for records, taps, model in ((student_records, self.student_taps, 'student'),
                                     (teacher_records, self.teacher_taps, 'teacher')):
            for index in range(self.num_pairs):
                first, second = taps[f'first{index}'], taps[f'second{index}']
                missing = [taps[role] for role in (f'first{index}', f'second{index}')
                           if role not in records]
                if missing:
                    raise ValueError(f'FSP reads backbone or neck layers (the probe runs '
                                     f'those); the {model} layers {missing} did not run in it')
                a, b = records[f'first{index}'], records[f'second{index}']
                if not (torch.is_tensor(a) and torch.is_tensor(b) and a.dim() == b.dim() == 4
                        and a.shape[-2:] == b.shape[-2:]):
                    raise ValueError(f'FSP pair {index} of the {model}: {first!r} and '
                                     f'{second!r} must return (N, C, H, W) maps of one H, W; '
                                     f'got {self._shape(a)} and {self._shape(b)}')
        self.connectors = nn.ModuleList()
        for index in range(self.num_pairs):
            for end in ('first', 'second'):
                student = student_records[f'{end}{index}'].shape[1]
                teacher = teacher_records[f'{end}{index}'].shape[1]
                self.connectors.append(nn.Identity() if student == teacher
                                       else Adapter(student, teacher))

    @staticmethod
    def _shape(record):
        return tuple(record.shape) if torch.is_tensor(record) else type(record).__name__

    def loss(self, student_records, teacher_records):
        total = 0
        for index in range(self.num_pairs):
            first, second = self.connectors[2 * index], self.connectors[2 * index + 1]
            student = flow_matrix(first(student_records[f'first{index}']),
                                  second(student_records[f'second{index}']))
            teacher = flow_matrix(teacher_records[f'first{index}'],
                                  teacher_records[f'second{index}'])
            total = total + fsp_distance(student, teacher)
        return {'loss_fsp': total}
