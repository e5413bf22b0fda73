"""Classification-map KD with online hard mining for dense single-stage heads
(Jin et al., "Learning Lightweight Face Detector with Knowledge Distillation", ICB 2019)."""
import functools
from typing import List, Sequence

import torch
from mmdet.models.dense_heads import RetinaHead
from torch import nn

from mmkd.registry import MODELS
from ..losses import cls_map_kd_loss, mining_mask
from .alignment import paired_heads
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

    teacher_work = 'backbone + neck + classification branch of the dense head'
    averages_teachers = False     # its teacher records are a head's outputs

    def __init__(self, mode='seed', alpha=50.0, scale=16.2, beta=6.4, loss_weight=1.0,
                 head='bbox_head', neck='neck', init_cfg=None):
        super().__init__(dict(outputs=head), dict(feats=neck), loss_weight, init_cfg)
        self.mode, self.alpha, self.scale, self.beta = mode, alpha, scale, beta
        self.head_path = head
        cls_map_kd_loss(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1), torch.zeros(1),
                        mode=mode)   # validates mode at build time

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        heads = paired_heads(student_model, teacher_model, self.head_path, 'ClsMapKD',
                             same=('num_classes', 'use_sigmoid_cls', 'num_base_priors'),
                             anchors=True)
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

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher head's classification maps on its own neck (see
        :func:`classification_maps`)."""
        return dict(maps=classification_maps(teacher.module(self.head_path),
                                             teacher_records['feats']))

    def mined_locations(self, student_records, teacher_records) -> List[torch.Tensor]:
        """Per level, (N, H, W): the fraction of the location's anchors (and classes) the rule
        mines. What ``tools/inspect_distill.py`` draws."""
        student_maps, teacher_maps = student_records['outputs'][0], teacher_records['maps']
        _, student_face = self._probabilities(student_maps)
        _, teacher_face = self._probabilities(teacher_maps)
        mask = mining_mask(student_face, teacher_face, self.mode, self.scale, self.beta).float()
        places = [m.shape[0] * m.shape[2] * m.shape[3] for m in student_maps]
        per_place = mask.numel() // sum(places)       # anchors (x classes, sigmoid) per place
        return [level.reshape(m.shape[0], m.shape[2], m.shape[3], per_place).mean(-1)
                for level, m in zip(mask.split([p * per_place for p in places]), student_maps)]

    def loss(self, student_records, teacher_records):
        student_probs, student_face = self._probabilities(student_records['outputs'][0])
        teacher_probs, teacher_face = self._probabilities(teacher_records['maps'])
        loss, mined = cls_map_kd_loss(student_probs, teacher_probs, student_face, teacher_face,
                                      self.mode, self.alpha, self.scale, self.beta)
        return dict(loss_cls_map_kd=loss, cls_map_kd_mined=mined)
