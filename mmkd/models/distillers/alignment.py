"""Checks that two dense heads predict on the same priors, so their maps align one to one."""
import torch
from torch import nn

from ..taps import resolve_module

PRIOR_SETTINGS = ('strides', 'ratios', 'scales', 'base_sizes', 'center_offset', 'centers',
                  'scale_major', 'offset')


def check_same_anchors(student_head: nn.Module, teacher_head: nn.Module, path: str) -> None:
    """Raise a ValueError naming the anchor setting that differs between two dense heads."""
    generators = student_head.prior_generator, teacher_head.prior_generator
    fix = (f'anchor-wise KD needs identical anchor layouts: set model.student.{path}'
           f'.anchor_generator and the teacher\'s alike')
    kinds = [type(g).__name__ for g in generators]
    if kinds[0] != kinds[1]:
        raise ValueError(f'{path} priors differ: student {kinds[0]} vs teacher {kinds[1]}; {fix}')
    for name in PRIOR_SETTINGS:
        s, t = (_plain(getattr(g, name, None)) for g in generators)
        if s != t:
            raise ValueError(f'{path}.anchor_generator.{name} differs: student {s} vs teacher '
                             f'{t}; {fix}')
    for level, (s, t) in enumerate(zip(*(getattr(g, 'base_anchors', []) for g in generators))):
        if s.shape != t.shape or not torch.allclose(s, t):
            raise ValueError(f'{path}: base anchors of level {level} differ; {fix}')


def _plain(value):
    """Tensors (also inside lists) as lists, for comparing and printing settings."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def same_class_heads(student_model: nn.Module, teacher_model: nn.Module, path: str,
                     distiller: str):
    """The two models' heads at ``path``; a ValueError when their ``num_classes`` differ
    (logits and class masks pair class by class)."""
    heads = [resolve_module(model, path, side)
             for model, side in ((student_model, 'student'), (teacher_model, 'teacher'))]
    if heads[0].num_classes != heads[1].num_classes:
        raise ValueError(f'{distiller} pairs outputs class by class, so both models need the same '
                         f'classes: {path}.num_classes is {heads[0].num_classes} in the student, '
                         f'{heads[1].num_classes} in the teacher')
    return heads
