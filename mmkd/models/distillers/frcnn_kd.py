"""Faster R-CNN KD of Chen et al. (NeurIPS 2017): weighted soft labels and teacher-bounded
regression on the RPN and on the RoI head. The hint term is :class:`FeatureHint`.

Per stage: ``L_cls = mu * CE(P_s, y) + (1 - mu) * L_soft`` and
``L_reg = smoothL1(R_s, y) + nu * L_b``. The hard terms are the student's own losses (its
classification loss is scaled by ``mu``); these distillers add ``(1 - mu) * L_soft`` over the
sampled anchors/RoIs and ``nu * L_b`` over the positives, on the stage's own regression targets.
Each term is normalised by the same factor as the stage's own hard term (its ``avg_factor``:
the sampled anchors for an RPN with a random sampler, the positives with mmdet's
``PseudoSampler``; the sampled RoIs for the RoI head), so ``mu`` and ``nu`` weigh the soft
terms against the hard ones as in the paper. ``mu = 1`` or ``nu = 0`` switches a term off.
"""
import torch

from mmkd.registry import MODELS
from ..losses import sigmoid_as_two_way, teacher_bounded_l2, weighted_soft_ce
from .alignment import paired_heads
from .base import BaseDistiller


class _HeadKD(BaseDistiller):
    """Soft-label classification and teacher-bounded regression terms of one stage."""

    averages_teachers = False     # its teacher records are a head's outputs

    def __init__(self, student_taps, teacher_taps, prefix, hard_cls_loss, loss_weight=1.0,
                 temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0, init_cfg=None):
        super().__init__(student_taps, teacher_taps, loss_weight, init_cfg)
        if not 0 <= mu <= 1:
            raise ValueError(f'{type(self).__name__}.mu must lie in [0, 1], got {mu}')
        self.prefix = prefix
        self.temperature, self.mu, self.bg_weight = temperature, mu, bg_weight
        self.nu, self.margin = nu, margin
        self.student_loss_scales = {hard_cls_loss: mu}

    def _kd_losses(self, student_logits, teacher_logits, bg_index, sampled, student_reg,
                   teacher_reg, reg_targets, positive, cls_avg_factor, reg_avg_factor):
        """Args: logits (n, C); ``sampled``, ``positive`` (n,) bool; regressions (n, 4);
        ``cls_avg_factor``, ``reg_avg_factor``: the normalisers of the stage's own
        classification and regression losses."""
        class_weights = student_logits.new_ones(student_logits.shape[-1])
        class_weights[bg_index] = self.bg_weight
        soft = weighted_soft_ce(student_logits[sampled], teacher_logits[sampled],
                                self.temperature, class_weights).sum() \
            / max(float(cls_avg_factor), 1.0)
        bounded = teacher_bounded_l2(student_reg[positive], teacher_reg[positive],
                                     reg_targets[positive], self.margin).sum() \
            / max(float(reg_avg_factor), 1.0)
        return {f'loss_{self.prefix}_kd_cls': (1 - self.mu) * soft,
                f'loss_{self.prefix}_kd_reg': self.nu * bounded}


@MODELS.register_module()
class RPNKD(_HeadKD):
    """Chen et al.'s classification and regression KD on the RPN, anchor by anchor.

    Reads the student's RPN outputs and its anchor targets (``rpn_head.get_targets``, as the
    head computed them for its own loss); runs the teacher's RPN head on the teacher's neck
    features. Both heads must share the anchor layout (checked at build). A sigmoid RPN is
    treated as a 2-way softmax over (background, object). Logs ``loss_rpn_kd_cls`` and
    ``loss_rpn_kd_reg``; scales the student's ``loss_rpn_cls`` by ``mu``.

    Args:
        temperature (float): ``T``. Default 1. mu (float): weight of the hard loss. Default 0.5.
        bg_weight (float): soft-term weight of the background class. Default 1.5.
        nu (float): weight of the bounded regression. Default 0.5.
        margin (float): ``m`` of the bounded regression. Default 0.
        head, neck (str): module paths in both models.
    """

    teacher_work = 'backbone + neck + RPN head'
    bounded_losses = ('loss_rpn_kd_reg',)    # zero where the student beats the teacher

    def __init__(self, loss_weight=1.0, temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5,
                 margin=0.0, head='rpn_head', neck='neck', init_cfg=None):
        super().__init__(dict(outputs=head, targets=f'{head}.get_targets'), dict(feats=neck),
                         'rpn', 'loss_rpn_cls', loss_weight, temperature, mu, bg_weight, nu,
                         margin, init_cfg)
        self.head_path = head

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        student_head, teacher_head = paired_heads(student_model, teacher_model, self.head_path,
                                                  'RPNKD', anchors=True, box_coder=True)
        for side, head in (('student', student_head), ('teacher', teacher_head)):
            if getattr(head, 'reg_decoded_bbox', False):
                raise ValueError(f'RPNKD compares box deltas: set {side} {self.head_path}'
                                 f'.reg_decoded_bbox=False')
        self._sigmoid = [student_head.use_sigmoid_cls, teacher_head.use_sigmoid_cls]

    @staticmethod
    def _flatten(maps, sigmoid):
        """Per-level (N, A*C, H, W) -> (sum N*H*W*A, 2) (background, object) logits."""
        flat = []
        for score in maps:
            score = score.permute(0, 2, 3, 1)
            if sigmoid:
                flat.append(sigmoid_as_two_way(score.reshape(-1)))
            else:   # mmdet's softmax RPN orders (object, background)
                flat.append(score.reshape(-1, 2).flip(-1))
        return torch.cat(flat)

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's RPN on its own neck: per level (N, A*C, H, W) scores, (N, 4A, H, W)
        deltas."""
        cls, reg = teacher.module(self.head_path)(teacher_records['feats'])
        return dict(cls=cls, reg=reg)

    def loss(self, student_records, teacher_records):
        student_cls, student_reg = student_records['outputs']
        labels, label_weights, reg_targets, reg_weights, avg_factor = \
            student_records['targets']['result'][:5]
        teacher_cls, teacher_reg = teacher_records['cls'], teacher_records['reg']

        def boxes(maps):
            return torch.cat([m.permute(0, 2, 3, 1).reshape(-1, 4) for m in maps])

        reg_weights = torch.cat([w.reshape(-1, 4) for w in reg_weights])
        return self._kd_losses(
            self._flatten(student_cls, self._sigmoid[0]),
            self._flatten(teacher_cls, self._sigmoid[1]), bg_index=0,
            sampled=torch.cat([w.reshape(-1) for w in label_weights]) > 0,
            student_reg=boxes(student_reg), teacher_reg=boxes(teacher_reg),
            reg_targets=torch.cat([t.reshape(-1, 4) for t in reg_targets]),
            positive=reg_weights[:, 0] > 0, cls_avg_factor=avg_factor, reg_avg_factor=avg_factor)


def gt_class_deltas(bbox_pred: torch.Tensor, labels: torch.Tensor,
                    class_agnostic: bool) -> torch.Tensor:
    """(n, 4) or (n, 4 * K) deltas -> (n, 4): those of each RoI's label (any for background)."""
    if class_agnostic:
        return bbox_pred
    per_class = bbox_pred.view(bbox_pred.shape[0], -1, 4)
    index = labels.clamp(max=per_class.shape[1] - 1)
    return per_class[torch.arange(len(labels), device=labels.device), index]


@MODELS.register_module()
class RoIHeadKD(_HeadKD):
    """Chen et al.'s classification and regression KD on the RoI box head.

    The teacher's box head scores **the student's sampled RoIs** (same boxes, same order),
    pooled from the teacher's own neck features with the teacher's RoI extractor. Reads the
    student's ``bbox_head.loss_and_target`` call (its scores, RoIs and targets). Class counts
    must match; class-agnostic and class-specific regression mix freely. Logs
    ``loss_rcnn_kd_cls`` and ``loss_rcnn_kd_reg``; scales the student's ``loss_cls`` by ``mu``.

    Args: as :class:`RPNKD`; ``roi_head`` and ``neck`` are module paths in both models.
    """

    teacher_work = "backbone + neck + box head on the student's sampled RoIs"
    bounded_losses = ('loss_rcnn_kd_reg',)   # zero where the student beats the teacher

    def __init__(self, loss_weight=1.0, temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5,
                 margin=0.0, roi_head='roi_head', neck='neck', init_cfg=None):
        super().__init__(dict(bbox=f'{roi_head}.bbox_head.loss_and_target'), dict(feats=neck),
                         'rcnn', 'loss_cls', loss_weight, temperature, mu, bg_weight, nu,
                         margin, init_cfg)
        self.roi_head_path = roi_head

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        heads = paired_heads(student_model, teacher_model, f'{self.roi_head_path}.bbox_head',
                             'RoIHeadKD', same=('num_classes',), box_coder=True)
        for side, head in zip(('student', 'teacher'), heads):
            if head.reg_decoded_bbox or head.custom_cls_channels:
                raise ValueError(f'RoIHeadKD needs plain softmax scores and box deltas: the '
                                 f'{side} {self.roi_head_path}.bbox_head has reg_decoded_bbox or '
                                 f'a custom classification loss')
        self.num_classes = heads[0].num_classes
        self._agnostic = [head.reg_class_agnostic for head in heads]

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's box head on the student's sampled RoIs (n of them): (n, C + 1) scores,
        (n, 4) or (n, 4C) deltas."""
        out = teacher.module(self.roi_head_path)._bbox_forward(
            teacher_records['feats'], student_records['bbox']['inputs']['rois'])
        return dict(cls_score=out['cls_score'], bbox_pred=out['bbox_pred'])

    def loss(self, student_records, teacher_records):
        inputs = student_records['bbox']['inputs']
        labels, label_weights, reg_targets, _ = student_records['bbox']['result']['bbox_targets']
        positive = (labels >= 0) & (labels < self.num_classes)
        sampled = label_weights > 0
        return self._kd_losses(   # normalisers of mmdet's BBoxHead.loss
            inputs['cls_score'], teacher_records['cls_score'], bg_index=self.num_classes,
            sampled=sampled,
            student_reg=gt_class_deltas(inputs['bbox_pred'], labels, self._agnostic[0]),
            teacher_reg=gt_class_deltas(teacher_records['bbox_pred'], labels, self._agnostic[1]),
            reg_targets=reg_targets, positive=positive, cls_avg_factor=sampled.sum(),
            reg_avg_factor=labels.numel())
