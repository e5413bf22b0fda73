"""Checks that two heads pair output by output: same classes, priors and box coding."""
from typing import Sequence

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
    """Tensors and tuples (also nested) as lists, for comparing and printing settings: a setting
    written as a tuple on one side (mmdet's coder defaults are tuples) and as a list on the
    other is the same setting."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


BOX_CODER_SETTINGS = (('means', 'target_means'), ('stds', 'target_stds'))


def check_same_box_coder(student_head: nn.Module, teacher_head: nn.Module, path: str) -> None:
    """Raise a ValueError naming the setting when two heads encode box deltas differently (their
    deltas, and so a regression KD term between them, would mean different boxes)."""
    coders = student_head.bbox_coder, teacher_head.bbox_coder
    kinds = [type(coder).__name__ for coder in coders]
    if kinds[0] != kinds[1]:
        raise ValueError(f'{path}.bbox_coder differs: student {kinds[0]} vs teacher {kinds[1]}')
    for attribute, key in BOX_CODER_SETTINGS:
        s, t = (_plain(getattr(coder, attribute, None)) for coder in coders)
        if s != t:
            raise ValueError(f'{path}.bbox_coder.{key} differs: student {s} vs teacher {t}; '
                             f'box-delta KD needs them alike: set model.student.{path}'
                             f'.bbox_coder.{key} to the teacher\'s')


def require_head_kind(student_model: nn.Module, teacher_model: nn.Module, path: str,
                      distiller: str, attribute: str, kind: str) -> None:
    """Raise a ValueError naming the side when either model's head at ``path`` lacks
    ``attribute`` (what makes it a ``kind``, e.g. ``reg_max`` for a distribution head)."""
    for model, side in ((student_model, 'student'), (teacher_model, 'teacher')):
        head = resolve_module(model, path, side)
        if not hasattr(head, attribute):
            raise ValueError(f'{distiller} needs {kind}: the {side}\'s {path} is a '
                             f'{type(head).__name__}')


def paired_heads(student_model: nn.Module, teacher_model: nn.Module, path: str, distiller: str,
                 same: Sequence[str] = (), anchors: bool = False, box_coder: bool = False):
    """The two models' heads at ``path``, checked to be pairable output by output.

    Args:
        same: attributes that must be equal (``num_classes``, ``use_sigmoid_cls``, ...).
        anchors: the heads must lay out the same priors (:func:`check_same_anchors`, checked
            first).
        box_coder: the heads must encode deltas alike (:func:`check_same_box_coder`).

    Returns:
        ``(student_head, teacher_head)``.

    Raises:
        KeyError: a model has no module at ``path`` (nearest names listed).
        ValueError: naming the first setting that differs, with both values.
    """
    try:
        heads = [resolve_module(model, path, side)
                 for model, side in ((student_model, 'student'), (teacher_model, 'teacher'))]
    except KeyError as err:
        raise KeyError(f'{distiller} reads {path} in both models, but the {err.args[0]}') from None
    if anchors:     # first: a different anchor count follows from the setting named here
        check_same_anchors(*heads, path)
    for name in same:
        s, t = (getattr(head, name) for head in heads)
        if s != t:
            raise ValueError(f'{distiller} pairs the two heads output by output, but {path}.'
                             f'{name} is {s} in the student, {t} in the teacher: set '
                             f'model.student.{path}.{name} and the teacher\'s alike')
    if box_coder:
        check_same_box_coder(*heads, path)
    return heads
