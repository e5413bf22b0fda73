"""Mask-head distillation for Mask R-CNN: the student's masks learn the teacher's."""
import torch
from mmdet.structures.bbox import bbox2roi

from mmkd.registry import MODELS
from ..losses import soft_mask_bce
from .alignment import paired_heads
from .base import BaseDistiller


def _gt_class_masks(mask_preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(n, K, H, W) mask logits (K = 1 when class-agnostic) -> (n, H, W) of each RoI's class."""
    index = labels.clamp(max=mask_preds.shape[1] - 1)
    return mask_preds[torch.arange(len(labels), device=labels.device), index]


@MODELS.register_module()
class MaskHeadKD(BaseDistiller):
    """The teacher's mask head predicts on **the student's positive RoIs** (pooled from the
    teacher's own features with its own mask RoI extractor); the student's mask logits of each
    RoI's GT class learn the teacher's per-pixel probabilities with soft-target BCE.

    Reads the student's ``mask_head.loss_and_target`` call (its mask logits and sampling
    results). Class counts must match. Logs ``loss_mask_kd``.

    Args:
        loss_weight (float): Default 1.
        temperature (float): ``T`` of ``sigmoid(logit / T)`` on both sides. Default 1.
        roi_head, neck (str): module paths in both models.
    """

    teacher_work = "backbone + neck + mask head on the student's positive RoIs"
    averages_teachers = False     # its teacher records are a head's outputs

    def __init__(self, loss_weight=1.0, temperature=1.0, roi_head='roi_head', neck='neck',
                 init_cfg=None):
        super().__init__(dict(mask=f'{roi_head}.mask_head.loss_and_target'), dict(feats=neck),
                         loss_weight, init_cfg)
        self.temperature = temperature
        self.roi_head_path = roi_head

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        paired_heads(student_model, teacher_model, f'{self.roi_head_path}.mask_head',
                     'MaskHeadKD', same=('num_classes',))

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's mask head on the student's positive RoIs (n of them): (n, K, H, W)
        logits."""
        sampling_results = student_records['mask']['inputs']['sampling_results']
        pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
        return dict(mask_preds=teacher.module(self.roi_head_path)._mask_forward(
            teacher_records['feats'], pos_rois)['mask_preds'])

    def loss(self, student_records, teacher_records):
        inputs = student_records['mask']['inputs']
        labels = torch.cat([res.pos_gt_labels for res in inputs['sampling_results']])
        return dict(loss_mask_kd=soft_mask_bce(
            _gt_class_masks(inputs['mask_preds'], labels),
            _gt_class_masks(teacher_records['mask_preds'], labels), self.temperature))
