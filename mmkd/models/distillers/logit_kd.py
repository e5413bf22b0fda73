"""Logit KD (Hinton et al., 2015) on every prior of a dense detector's classification branch."""
import torch

from mmkd.registry import MODELS
from ..losses import sigmoid_softened_kl, softened_kl
from .alignment import paired_heads
from .base import BaseDistiller
from .cls_map_kd import classification_maps


@MODELS.register_module()
class DenseLogitKD(BaseDistiller):
    """Each prior's class scores learn the teacher's softened ones: ``T^2 KL(softmax(z_T / T)
    || softmax(z_S / T))`` for softmax heads (mmdet's order: classes then background), the
    per-class binary KL summed over the classes for sigmoid heads; averaged over all priors of
    all levels and images (``loss_logit_kd``).

    The student's classification maps come from its own loss forward (a tap on the head); the
    teacher runs the classification branch of its head on its neck. Both heads must share the
    class count, the sigmoid/softmax choice and the prior layout (checked at build), so they
    pair prior by prior: RetinaNet-style (anchors) or FCOS-style (points) heads.

    Args:
        temperature (float): ``T``. Default 2.
        loss_weight (float): Default 1.
        head (str): the dense head's path in both models. Default ``'bbox_head'``.
        neck (str): the teacher's neck. Default ``'neck'``.
    """

    teacher_work = 'backbone + neck + classification branch of the dense head'

    def __init__(self, temperature: float = 2.0, loss_weight: float = 1.0,
                 head: str = 'bbox_head', neck: str = 'neck', init_cfg=None):
        super().__init__(dict(outputs=head), dict(feats=neck), loss_weight, init_cfg)
        self.temperature = temperature
        self.head_path = head

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        student_head, _ = paired_heads(student_model, teacher_model, self.head_path,
                                       type(self).__name__,
                                       same=('num_classes', 'use_sigmoid_cls', 'num_base_priors'),
                                       anchors=True)
        self.sigmoid = student_head.use_sigmoid_cls
        self.classes = student_head.num_classes + (0 if self.sigmoid else 1)

    def teacher_forward(self, student_records, teacher_records, teacher):
        return dict(maps=classification_maps(teacher.module(self.head_path),
                                             teacher_records['feats']))

    def merge_teachers(self, teacher_records):
        """Several teachers as one: per prior, their class probabilities averaged (MEAL V2),
        handed on as the logits of that average (``log p`` for softmax heads, ``logit p`` for
        sigmoid ones), so that the temperature softens the ensemble's distribution. (At build
        the records hold the necks only, which this distiller does not compare: the first
        teacher's are passed on.)"""
        if 'maps' not in teacher_records[0]:
            return teacher_records[0]
        merged = []
        for level_maps in zip(*(records['maps'] for records in teacher_records)):
            n, _, h, w = level_maps[0].shape
            grouped = torch.stack([m.reshape(n, -1, self.classes, h, w) for m in level_maps])
            if self.sigmoid:
                mean = grouped.sigmoid().mean(dim=0)
                logits = torch.logit(mean, eps=1e-6)
            else:
                logits = grouped.softmax(dim=3).mean(dim=0).clamp(min=1e-12).log()
            merged.append(logits.reshape(n, -1, h, w))
        return dict(maps=merged)

    def loss(self, student_records, teacher_records):
        """Level by level on the (N, A * C, H, W) maps viewed as (N, A, C, H, W), the classes
        along dim 2: no flattened or concatenated copy of the maps (which at 1333x800 are
        120 MiB a model for RetinaNet)."""
        divergence = sigmoid_softened_kl if self.sigmoid else softened_kl
        total, priors = 0, 0
        for student, teacher in zip(student_records['outputs'][0], teacher_records['maps']):
            n, _, h, w = student.shape
            per_prior = divergence(student.reshape(n, -1, self.classes, h, w),
                                   teacher.reshape(n, -1, self.classes, h, w),
                                   self.temperature, dim=2)
            total = total + per_prior.sum()
            priors += per_prior.numel()
        return dict(loss_logit_kd=total / priors)
