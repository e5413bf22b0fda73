"""CrossKD's cross-head scheme (Wang et al., CVPR 2024) on a two-stage detector's RoI box head."""
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from mmkd.registry import MODELS
from ..connectors import Adapter
from ..losses import match_channel_statistics, softened_kl
from .alignment import paired_heads
from .base import BaseDistiller
from .frcnn_kd import gt_class_deltas


@MODELS.register_module()
class RoICrossKD(BaseDistiller):
    """The student's RoI features go through the **teacher's** box head, and those cross-head
    predictions learn the teacher's own on the same RoIs.

    CrossKD hands a dense head's intermediate maps to the teacher's head; here the hand-over is
    the box head's input: the student's RoI features of its sampled RoIs, (n, C_s, S, S) (a tap
    on its ``bbox_roi_extractor``), through a 1x1 conv where the widths differ, each channel
    moved to the mean and standard deviation of the teacher's RoI features on the same RoIs
    (:func:`~mmkd.models.losses.match_channel_statistics`), then the teacher's whole box head
    (frozen; the gradient passes through it to the student's neck and backbone). The student's
    own box head trains on the ground truth only, which is CrossKD's point: its outputs never
    receive the teacher's targets, so the two supervisions do not pull them apart.

    * ``loss_roi_crosskd_cls``: ``T^2 KL(softmax(t / T) || softmax(x / T))`` over the classes
      and background, ``x`` the cross-head scores, ``t`` the teacher's, averaged over the
      sampled RoIs, times ``cls_weight``;
    * ``loss_roi_crosskd_reg``: the L1 distance between the cross-head and the teacher's deltas
      of each positive RoI's ground-truth class, summed over the RoIs and divided by the sampled
      RoIs (the normaliser of the student's own ``loss_bbox``), times ``reg_weight``.

    Heads must share their class count, box coding and RoI size (checked at build); the
    teacher's box head is run twice per step, once on its own RoI features (its targets, with
    the teacher's work) and once on the student's (with the loss).

    Args:
        cls_weight, reg_weight (float): the two terms' weights. Default 1 each.
        temperature (float): ``T`` of the classification term. Default 1.
        roi_head (str): the RoI head's path in both models. Default ``'roi_head'``.
        neck (str): the teacher's neck. Default ``'neck'``.
    """

    teacher_work = "backbone + neck + box head on the student's sampled RoIs"
    averages_teachers = False     # its teacher records are a head's outputs

    def __init__(self, cls_weight: float = 1.0, reg_weight: float = 1.0,
                 temperature: float = 1.0, loss_weight: float = 1.0,
                 roi_head: str = 'roi_head', neck: str = 'neck', init_cfg=None):
        super().__init__(dict(roi_feats=f'{roi_head}.bbox_roi_extractor',
                              bbox=f'{roi_head}.bbox_head.loss_and_target'),
                         dict(feats=neck), loss_weight, init_cfg)
        self.cls_weight, self.reg_weight = cls_weight, reg_weight
        self.temperature = temperature
        self.roi_head_path = roi_head
        self.connector = nn.Identity()
        self._teacher_head: List[nn.Module] = []     # a list: not a submodule of the distiller

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        path = f'{self.roi_head_path}.bbox_head'
        heads = paired_heads(student_model, teacher_model, path, type(self).__name__,
                             same=('num_classes', 'roi_feat_size'), box_coder=True)
        for side, head in zip(('student', 'teacher'), heads):
            if head.reg_decoded_bbox or head.custom_cls_channels:
                raise ValueError(f'RoICrossKD needs plain softmax scores and box deltas: the '
                                 f'{side} {path} has reg_decoded_bbox or a custom '
                                 f'classification loss')
        self._teacher_head = [heads[1]]
        self.num_classes = heads[0].num_classes
        self._agnostic = [head.reg_class_agnostic for head in heads]
        widths = [head.in_channels for head in heads]
        self.connector = Adapter(*widths) if widths[0] != widths[1] else nn.Identity()

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's RoI head on the student's sampled RoIs: its (n, C_t, S, S) RoI
        features, (n, K + 1) scores and (n, 4) or (n, 4K) deltas."""
        out = teacher.module(self.roi_head_path)._bbox_forward(
            teacher_records['feats'], student_records['bbox']['inputs']['rois'])
        return dict(roi_feats=out['bbox_feats'], cls_score=out['cls_score'],
                    bbox_pred=out['bbox_pred'])

    def cross_head(self, student_records, teacher_records):
        """The student's RoI features through the teacher's box head: ``(cls_score,
        bbox_pred)``, with gradients to the student."""
        student = match_channel_statistics(self.connector(student_records['roi_feats']),
                                           teacher_records['roi_feats'])
        return self._teacher_head[0](student)

    def loss(self, student_records, teacher_records):
        labels, label_weights = student_records['bbox']['result']['bbox_targets'][:2]
        sampled = label_weights > 0
        positive = (labels >= 0) & (labels < self.num_classes)
        cross_cls, cross_reg = self.cross_head(student_records, teacher_records)
        cls_loss = softened_kl(cross_cls[sampled], teacher_records['cls_score'][sampled],
                               self.temperature).sum() / sampled.sum().clamp(min=1)
        cross_deltas = gt_class_deltas(cross_reg, labels, self._agnostic[1])
        teacher_deltas = gt_class_deltas(teacher_records['bbox_pred'], labels,
                                          self._agnostic[1])
        reg_loss = F.l1_loss(cross_deltas[positive], teacher_deltas[positive].detach(),
                             reduction='sum') / max(labels.numel(), 1)
        return dict(loss_roi_crosskd_cls=self.cls_weight * cls_loss,
                    loss_roi_crosskd_reg=self.reg_weight * reg_loss)
