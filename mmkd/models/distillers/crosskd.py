"""CrossKD: cross-head knowledge distillation (Wang et al., CVPR 2024) for GFL and RetinaNet
heads."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.utils import reduce_mean
from torch import nn

from mmkd.registry import MODELS
from ..connectors import Adapter
from ..losses import (decoded_box_kd, edge_distribution_kd, match_channel_statistics,
                      quality_focal_kd)
from ..taps import resolve_module
from .alignment import paired_heads, require_head_kind
from .base import BaseDistiller
from .ld import flat_locations

BRANCHES = ('cls', 'reg')
GFL_PREDICTORS = ('gfl_cls', 'gfl_reg')


def head_with_hold(head: nn.Module, feat: torch.Tensor, index: int,
                   predictors: Tuple[str, str] = GFL_PREDICTORS):
    """A dense head (GFL's; RetinaNet's with ``predictors=('retina_cls', 'retina_reg')``) on one
    level's (N, C, H, W) ``feat``, also returning each branch's output of
    its conv ``index - 1`` (what CrossKD hands to the other head) **after** that conv's ReLU:
    the map is held before ``conv.activate``, but mmcv's ReLU is in place and overwrites it (as
    in the authors' ``forward_crosskd_single``): ``(cls_score, bbox_pred before the level's
    Scale, {'cls': map, 'reg': map})``."""
    held, outputs = {}, {}
    for branch in BRANCHES:
        x = feat
        for i, conv in enumerate(getattr(head, f'{branch}_convs')):
            x = conv(x, activate=False)
            if i + 1 == index:
                held[branch] = x
            x = conv.activate(x) if conv.with_activation else x
        outputs[branch] = x
    cls_predictor, reg_predictor = (getattr(head, name) for name in predictors)
    return cls_predictor(outputs['cls']), reg_predictor(outputs['reg']), held


def head_tail(head: nn.Module, held: dict, index: int, scale: Optional[nn.Module],
              predictors: Tuple[str, str] = GFL_PREDICTORS):
    """``head``'s layers from conv ``index`` on, its predictors and the level's ``scale`` (None:
    RetinaNet's head has none), on held maps, a ReLU first (the held maps are after the ReLU,
    but moved to the teacher's statistics they have negative values again; the authors apply it
    too): ``(cls_score, bbox_pred)``."""
    outputs = {}
    for branch in BRANCHES:
        x = F.relu(held[branch])
        for conv in getattr(head, f'{branch}_convs')[index:]:
            x = conv(x)
        outputs[branch] = x
    cls_predictor, reg_predictor = (getattr(head, name) for name in predictors)
    return cls_predictor(outputs['cls']), scaled(reg_predictor(outputs['reg']), scale)


def level_scales(head: nn.Module, levels: int) -> list:
    """The head's per-level ``Scale`` modules (GFL), or None per level (RetinaNet)."""
    return list(getattr(head, 'scales', [None] * levels))


def scaled(bbox_pred: torch.Tensor, scale: Optional[nn.Module]) -> torch.Tensor:
    """A level's box prediction through its ``Scale`` (None: as it is), in fp32."""
    return (bbox_pred if scale is None else scale(bbox_pred)).float()


@MODELS.register_module()
class CrossKD(BaseDistiller):
    """The student head's maps at conv ``reused_index`` go through the rest of the **teacher's**
    head (its layers from that conv on, its predictors and Scales; frozen, but the gradient
    passes through them to the student), and those cross-head predictions learn the teacher's
    own (Wang et al., CVPR 2024; the authors' GFL config):

    * ``loss_crosskd_cls``: :func:`~mmkd.models.losses.quality_focal_kd` (beta 1) on every
      prior the student's targets do not ignore, divided by the positives (as the student's
      quality focal loss), times ``cls_weight``;
    * ``loss_crosskd_reg``: :func:`~mmkd.models.losses.edge_distribution_kd` (T 1) weighted by
      the teacher's top class probability (0 on the priors the targets ignore), divided by the
      sum of those weights, times ``reg_weight``.

    The held maps are the outputs of conv ``reused_index - 1`` of each branch **after** its
    ReLU: the student's tap is on the norm layer (one record per level) and the teacher's
    :func:`head_with_hold` holds the map before ``activate``, but mmcv's ConvModule ReLU is in
    place and overwrites the held tensor, so both are the activated maps (the authors' code
    holds the same way, with the same aliasing, and its numbers agree with these). Each
    student channel is moved to the teacher's mean and standard deviation (CrossKD's
    ``align_scale``), through a 1x1 conv first where the two heads' widths differ (an mmkd
    addition: the authors pair heads of one width), then a ReLU, then the teacher's tail. The
    student still trains its own head on the ground truth only.

    Args:
        reused_index (int): the first teacher conv reused: 1 .. stacked_convs (the predictors
            alone). 3 for mmdet's four-conv GFL head, as the authors.
        cls_weight, reg_weight (float): 1 and 4 in the authors' GFL config.
        beta (float): focusing exponent of the classification KD. Default 1.
        temperature (float): of the box KD. Default 1.
        head (str): the dense head's path in both models. Default ``'bbox_head'``.
        neck (str): the teacher's neck. Default ``'neck'``.
        norm (str): the name of the norm layer in the head's ConvModules. Default ``'gn'``.
    """

    teacher_work = 'backbone + neck + dense head'
    averages_teachers = False     # its teacher records are a head's outputs
    predictors = GFL_PREDICTORS
    head_kind = ('gfl_reg', "a GFLHead, whose tail the student's maps run through")
    paired_attributes = ('num_classes', 'reg_max', 'num_base_priors')

    def __init__(self, reused_index: int = 3, cls_weight: float = 1.0, reg_weight: float = 4.0,
                 beta: float = 1.0, temperature: float = 1.0, loss_weight: float = 1.0,
                 head: str = 'bbox_head', neck: str = 'neck', norm: str = 'gn', init_cfg=None):
        if reused_index < 1:
            raise ValueError(f'CrossKD reused_index={reused_index}: must be at least 1 (the '
                             'student keeps its first conv)')
        student_taps = {f'{branch}_held': f'{head}.{branch}_convs.{reused_index - 1}.{norm}*'
                        for branch in BRANCHES}
        super().__init__(dict(student_taps, targets=f'{head}.get_targets'), dict(feats=neck),
                         loss_weight, init_cfg)
        self.reused_index = reused_index
        self.cls_weight, self.reg_weight = cls_weight, reg_weight
        self.beta, self.temperature = beta, temperature
        self.head_path = head
        self.connectors = nn.ModuleDict()
        self._teacher_head: List[nn.Module] = []     # a list: not a submodule of the distiller

    def check_pair(self, student_model, teacher_model):
        """Both heads of the kind whose tail runs the student's maps, with at least
        ``reused_index`` convs a branch (before the taps look for the held conv's layer)."""
        name = type(self).__name__
        require_head_kind(student_model, teacher_model, self.head_path, name, *self.head_kind)
        for model, side in ((student_model, 'student'), (teacher_model, 'teacher')):
            convs = resolve_module(model, self.head_path, side).stacked_convs
            if self.reused_index > convs:
                raise ValueError(f'{name} reused_index={self.reused_index}: the {side}\'s '
                                 f'{self.head_path} has {convs} convs per branch')

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        name = type(self).__name__
        student_head, teacher_head = paired_heads(
            student_model, teacher_model, self.head_path, name, same=self.paired_attributes,
            anchors=True)
        self._teacher_head = [teacher_head]
        self.num_classes = teacher_head.num_classes
        self.head_settings(student_head, teacher_head)
        width = lambda head, branch: getattr(head, f'{branch}_convs')[  # noqa: E731
            self.reused_index - 1].conv.out_channels
        self.connectors = nn.ModuleDict({
            branch: (Adapter(width(student_head, branch), width(teacher_head, branch))
                     if width(student_head, branch) != width(teacher_head, branch)
                     else nn.Identity())
            for branch in BRANCHES})

    def head_settings(self, student_head, teacher_head):
        """What the losses read off the paired heads: the bins of GFL's box-edge
        distributions."""
        self.bins = teacher_head.reg_max + 1

    def teacher_forward(self, student_records, teacher_records, teacher):
        head = teacher.module(self.head_path)
        feats = teacher_records['feats']
        cls_scores, bbox_preds, held = [], [], []
        for feat, scale in zip(feats, level_scales(head, len(feats))):
            cls_score, bbox_pred, level_held = head_with_hold(head, feat, self.reused_index,
                                                              self.predictors)
            cls_scores.append(cls_score)
            bbox_preds.append(scaled(bbox_pred, scale))
            held.append(level_held)
        return dict(cls_scores=cls_scores, bbox_preds=bbox_preds, held=held)

    def cross_head(self, student_records, teacher_records) -> List[Tuple[torch.Tensor, ...]]:
        """Per level the cross-head ``(cls_score, bbox_pred)``: the student's held maps through
        the teacher's head tail."""
        head = self._teacher_head[0]
        levels = teacher_records['held']
        predictions = []
        for level, (scale, teacher_held) in enumerate(zip(level_scales(head, len(levels)),
                                                          levels)):
            held = {branch: match_channel_statistics(
                        self.connectors[branch](student_records[f'{branch}_held'][level]),
                        teacher_held[branch])
                    for branch in BRANCHES}
            predictions.append(head_tail(head, held, self.reused_index, scale,
                                         self.predictors))
        return predictions

    def class_kd(self, cross_cls: torch.Tensor, teacher_cls: torch.Tensor,
                 label_weights: torch.Tensor, avg_factor: float):
        """One level's class KD (:func:`~mmkd.models.losses.quality_focal_kd` of the (N, A * C,
        H, W) cross-head scores against the teacher's, over ``avg_factor``) and the box KD's
        (M,) prior weights, in mmdet's prior order: the teacher's top class probability, 0
        where the (N, H * W * A) ``label_weights`` are. On the maps viewed as (N, A, C, H, W),
        not flattened copies of them."""
        n, _, h, w = teacher_cls.shape
        teacher_cls = teacher_cls.reshape(n, -1, self.num_classes, h, w)
        weights = label_weights.reshape(n, h, w, -1).permute(0, 3, 1, 2)      # (N, A, H, W)
        loss = quality_focal_kd(cross_cls.reshape(teacher_cls.shape), teacher_cls,
                                weights[:, :, None], avg_factor, self.beta)
        top = teacher_cls.detach().amax(dim=2).sigmoid() * (weights > 0)
        return loss, top.permute(0, 2, 3, 1).reshape(-1)

    def loss(self, student_records, teacher_records):
        targets = student_records['targets']['result']
        label_weights, num_positives = targets[2], targets[5]
        avg_factor = reduce_mean(torch.tensor(float(num_positives),
                                              device=label_weights[0].device)).clamp(min=1)
        cls_loss, reg_loss, reg_weight_sum = 0, 0, 0
        for (cross_cls, cross_reg), teacher_cls, teacher_reg, weights in zip(
                self.cross_head(student_records, teacher_records),
                teacher_records['cls_scores'], teacher_records['bbox_preds'], label_weights):
            level_cls_loss, reg_weights = self.class_kd(cross_cls, teacher_cls, weights,
                                                        avg_factor)
            cls_loss = cls_loss + level_cls_loss
            reg_loss = reg_loss + edge_distribution_kd(
                flat_locations(cross_reg, 4 * self.bins),
                flat_locations(teacher_reg, 4 * self.bins), reg_weights, self.bins,
                self.temperature)
            reg_weight_sum = reg_weight_sum + reg_weights.sum()
        return dict(loss_crosskd_cls=self.cls_weight * cls_loss,
                    loss_crosskd_reg=self.reg_weight * reg_loss / reg_weight_sum.clamp(min=1e-6))


@MODELS.register_module()
class RetinaCrossKD(CrossKD):
    """CrossKD for RetinaNet heads (mmdet's ``RetinaHead``), as the authors' ``CrossKDRetinaNet``
    (jbwang1997/CrossKD, ``configs/crosskd/crosskd_r50_retinanet_r101_fpn_1x_coco.py``): the
    student's maps at conv ``reused_index - 1`` of each branch (the conv's output, after its
    in-place ReLU: the head has no norm layer), moved to the teacher's channel statistics, a
    ReLU, then the teacher's convs from ``reused_index`` and its ``retina_cls`` /
    ``retina_reg``; those cross-head predictions learn the teacher's own:

    * ``loss_crosskd_cls``: :func:`~mmkd.models.losses.quality_focal_kd` (beta 1) on every
      anchor the student's targets do not ignore, divided by the targets' ``avg_factor`` (the
      positives), times ``cls_weight``;
    * ``loss_crosskd_reg``: :func:`~mmkd.models.losses.decoded_box_kd`: GIoU between the boxes
      both sets of deltas decode to at the student's anchors, weighted by the teacher's top class
      probability (0 on ignored anchors), divided by the same ``avg_factor``, times
      ``reg_weight`` (1 in the authors' config).

    Args:
        reused_index (int): the first teacher conv reused; 3 for mmdet's four-conv head, as
            the authors.
        cls_weight, reg_weight (float): 1 and 1 in the authors' RetinaNet config.
        beta (float): focusing exponent of the classification KD. Default 1.
        head (str): the dense head's path in both models. Default ``'bbox_head'``.
        neck (str): the teacher's neck. Default ``'neck'``.
    """

    predictors = ('retina_cls', 'retina_reg')
    head_kind = ('retina_reg', "a RetinaHead, whose tail the student's maps run through")
    paired_attributes = ('num_classes', 'num_base_priors')

    def __init__(self, reused_index: int = 3, cls_weight: float = 1.0, reg_weight: float = 1.0,
                 beta: float = 1.0, loss_weight: float = 1.0, head: str = 'bbox_head',
                 neck: str = 'neck', init_cfg=None):
        super().__init__(reused_index, cls_weight, reg_weight, beta, loss_weight=loss_weight,
                         head=head, neck=neck, norm='conv', init_cfg=init_cfg)

    def head_settings(self, student_head, teacher_head):
        """The student's box coder: both sets of deltas are decoded at its anchors."""
        self.bbox_coder = student_head.bbox_coder

    def loss(self, student_records, teacher_records):
        targets = student_records['targets']
        label_weights, avg_factor = targets['result'][1], targets['result'][4]
        avg_factor = max(float(avg_factor), 1.0)
        anchor_list = targets['inputs']['anchor_list']    # per image, per level (H*W*A, 4)
        cls_loss, reg_loss = 0, 0
        for level, ((cross_cls, cross_reg), teacher_cls, teacher_reg, weights) in enumerate(zip(
                self.cross_head(student_records, teacher_records),
                teacher_records['cls_scores'], teacher_records['bbox_preds'], label_weights)):
            level_cls_loss, reg_weights = self.class_kd(cross_cls, teacher_cls, weights,
                                                        avg_factor)
            cls_loss = cls_loss + level_cls_loss
            anchors = torch.cat([image[level] for image in anchor_list])
            reg_loss = reg_loss + decoded_box_kd(
                flat_locations(cross_reg, 4), flat_locations(teacher_reg, 4), anchors,
                reg_weights, self.bbox_coder, avg_factor)
        return dict(loss_crosskd_cls=self.cls_weight * cls_loss,
                    loss_crosskd_reg=self.reg_weight * reg_loss)
