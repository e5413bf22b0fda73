"""Classification-map KD with online hard mining for dense single-stage heads
(Jin et al., "Learning Lightweight Face Detector with Knowledge Distillation", ICB 2019)."""
import functools
from typing import List, Sequence

import torch
from mmdet.models.dense_heads import RetinaHead
from torch import nn

from mmkd.registry import MODELS
from ..losses import cls_map_kd_loss
from ..taps import resolve_module
from .alignment import check_same_anchors
from .base import BaseDistiller


def classification_maps(head: nn.Module, feats: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Per-level (N, A * C, H, W) classification logits of a dense head on per-level features.

    A RetinaHead runs its classification branch only (the regression branch, as costly, is not
    needed); any other head runs its whole forward, of which the first output is kept.
    """
    if type(head).forward_single is RetinaHead.forward_single:
        return [head.retina_cls(functools.reduce(lambda x, conv: conv(x), head.cls_convs, level))
                for level in feats]
    return head(feats)[0]


@MODELS.register_module()
class ClsMapKD(BaseDistiller):
    """The student's classification map mimics the teacher's on the anchors a mining rule keeps.

    Reads the student's dense head outputs (its forward: classification maps first) and runs the
    teacher's head on the teacher's neck features. Both heads must share the prior layout and
    class count (checked at build), so the maps align level by level and anchor by anchor.
    Softmax heads (mmdet order: classes, then background) compare full probability rows;
    sigmoid heads compare each (anchor, class) probability, which for one class is the same loss
    as the 2-way softmax view. Logs ``loss_cls_map_kd`` and ``cls_map_kd_mined`` (the fraction
    of anchors mined this step).

    Args:
        mode (str): ``'seed'`` (default; the reference rule ``p_t > T(p_t)``) or ``'adaptive'``
            (``|p_s - p_t| > T(p_t)``).
        alpha (float): loss weight of the reference code. Default 50.
        scale, beta (float): ``T(p) = scale * |p - 0.5| ** beta``. Defaults 16.2, 6.4.
        head, neck (str): module paths in both models. Defaults ``'bbox_head'``, ``'neck'``.
    """

    def __init__(self, mode='seed', alpha=50.0, scale=16.2, beta=6.4, loss_weight=1.0,
                 head='bbox_head', neck='neck', init_cfg=None):
        super().__init__(dict(outputs=head), dict(feats=neck), loss_weight, init_cfg)
        self.mode, self.alpha, self.scale, self.beta = mode, alpha, scale, beta
        self.head_path = head
        cls_map_kd_loss(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1), torch.zeros(1),
                        mode=mode)   # validates mode at build time

    def setup(self, student, teacher, student_model, teacher_model):
        heads = [resolve_module(m, self.head_path, side)
                 for m, side in ((student_model, 'student'), (teacher_model, 'teacher'))]
        check_same_anchors(*heads, self.head_path)
        for name in ('num_classes', 'use_sigmoid_cls', 'num_base_priors'):
            s, t = (getattr(head, name) for head in heads)
            if s != t:
                raise ValueError(f'ClsMapKD aligns classification maps one to one, but '
                                 f'{self.head_path}.{name} is {s} in the student and {t} in the '
                                 f'teacher: set model.student.{self.head_path} and the '
                                 f'teacher\'s alike')
        self.sigmoid = heads[0].use_sigmoid_cls
        self.num_classes = heads[0].num_classes

    def _probabilities(self, maps):
        """Per-level (N, A * C, H, W) logits -> ((M, K) compared probabilities, (M, ...)
        foreground probabilities the rule reads), M = all anchors of all images."""
        channels = self.num_classes if self.sigmoid else self.num_classes + 1
        logits = torch.cat([m.permute(0, 2, 3, 1).reshape(-1, channels) for m in maps])
        if self.sigmoid:
            probs = logits.sigmoid().reshape(-1, 1)        # each (anchor, class) on its own
            return probs, probs[:, 0]
        probs = logits.softmax(dim=-1)
        return probs, 1 - probs[:, -1]                     # foreground = not background

    def teacher_forward(self, student, teacher, teacher_model):
        """The teacher head's classification maps on its own neck (see
        :func:`classification_maps`)."""
        return dict(maps=classification_maps(teacher_model.get_submodule(self.head_path),
                                             teacher['feats']))

    def forward(self, student, teacher, teacher_model=None):
        student_probs, student_face = self._probabilities(student['outputs'][0])
        teacher_probs, teacher_face = self._probabilities(teacher['maps'])
        loss, mined = cls_map_kd_loss(student_probs, teacher_probs, student_face, teacher_face,
                                      self.mode, self.alpha, self.scale, self.beta)
        return dict(loss_cls_map_kd=self.loss_weight * loss, cls_map_kd_mined=mined)
