"""KD-DETR's losses on distillation points (Wang et al., CVPR 2024)."""
from typing import Dict

import torch
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_overlaps

from .logit_kd import softened_kl


def teacher_confidence(teacher_scores: torch.Tensor, sigmoid: bool) -> torch.Tensor:
    """KD-DETR's foreground weight of each point, ``w = max_c p_t(c)``: (M, C) scores -> (M,),
    detached. Sigmoid heads: the largest class probability; softmax heads (mmdet's order,
    no-object last): the largest over the object classes."""
    scores = teacher_scores.detach()
    probabilities = scores.sigmoid() if sigmoid else scores.softmax(dim=-1)[:, :-1]
    return probabilities.max(dim=-1).values


def query_kd_losses(student_scores: torch.Tensor, student_boxes: torch.Tensor,
                    teacher_scores: torch.Tensor, teacher_boxes: torch.Tensor,
                    temperature: float, sigmoid: bool) -> Dict[str, torch.Tensor]:
    """The three terms of KD-DETR on one set of points, each decoder layer of the student
    learning the teacher's last.

    With ``w_i`` the teacher's confidence on point ``i`` (:func:`teacher_confidence`) and
    ``C`` the number of class scores:

    * ``cls = sum_l sum_i w_i T^2 KL(softmax(t_i / T) || softmax(s_li / T)) / C``;
    * ``l1 = sum_l sum_i w_i |b_li - b^t_i|_1 / 4 / sum_i w_i``;
    * ``giou = sum_l sum_i w_i (1 - GIoU(b_li, b^t_i)) / sum_i w_i``.

    These are the authors' reductions (``Myleswork/KD-DETR``, ``KDCriterion``): the class
    term is summed over the points, the box terms are ``w``-weighted means; the softmax runs
    over the head's class scores also for sigmoid heads, as theirs does.

    Args:
        student_scores: (L, M, C) class scores of the student's L decoder layers.
        student_boxes: (L, M, 4) its boxes, normalised ``(cx, cy, w, h)``.
        teacher_scores: (M, C) the teacher's last layer; teacher_boxes: (M, 4).
        temperature: ``T``.
        sigmoid: whether the teacher's head scores classes by sigmoid.

    Returns:
        ``dict(cls=..., l1=..., giou=...)``, scalars (the teacher detached).
    """
    weight = teacher_confidence(teacher_scores, sigmoid)
    teacher_boxes = teacher_boxes.detach()
    num_scores = student_scores.shape[-1]
    cls = l1 = giou = student_scores.new_zeros(())
    for scores, boxes in zip(student_scores, student_boxes):
        kl = softened_kl(scores, teacher_scores, temperature) / num_scores
        cls = cls + (weight * kl).sum()
        l1 = l1 + (weight * (boxes - teacher_boxes).abs().mean(dim=-1)).sum() / weight.sum()
        overlap = bbox_overlaps(bbox_cxcywh_to_xyxy(boxes), bbox_cxcywh_to_xyxy(teacher_boxes),
                                mode='giou', is_aligned=True)
        giou = giou + (weight * (1 - overlap)).sum() / weight.sum()
    return dict(cls=cls, l1=l1, giou=giou)
