"""DETRDistill's Hungarian-matching logits distillation (Chang et al., ICCV 2023)."""
from typing import Dict

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_overlaps
from scipy.optimize import linear_sum_assignment


def soft_class_cost(student_scores: torch.Tensor, teacher_probabilities: torch.Tensor,
                    sigmoid: bool) -> torch.Tensor:
    """(Q_s, C) student scores and (Q_t, C) teacher probabilities -> (Q_s, Q_t) the class
    loss of each student query against each teacher prediction: the sum over the classes of
    the binary cross-entropy with the teacher's probabilities as targets (sigmoid heads), or
    the cross-entropy ``-sum_c p_c log softmax(x)_c`` (softmax heads)."""
    if sigmoid:
        # BCE(x, p) = softplus(x) - p x, summed over the classes
        return (F.softplus(student_scores).sum(-1)[:, None]
                - student_scores @ teacher_probabilities.T)
    return -(F.log_softmax(student_scores, dim=-1) @ teacher_probabilities.T)


def match_to_teacher(student_scores, student_boxes, teacher_probabilities, teacher_boxes,
                     sigmoid: bool, weights: Dict[str, float]):
    """The student queries matched one to one to the teacher's predictions (Hungarian), at the
    cost ``class + l1 * L1 + giou * (-GIoU)``: the class cost of :func:`soft_class_cost`, L1
    and GIoU on normalised ``(cx, cy, w, h)`` boxes. (mmdet's ``HungarianAssigner`` and the
    authors take GIoU on pixel boxes: the same number, as scaling the axes scales every area
    alike.)

    Returns:
        (student indices, teacher indices), each (min(Q_s, Q_t),) long.
    """
    with torch.no_grad():
        cost = (weights['cls'] * soft_class_cost(student_scores, teacher_probabilities, sigmoid)
                + weights['l1'] * torch.cdist(student_boxes, teacher_boxes, p=1)
                - weights['giou'] * bbox_overlaps(bbox_cxcywh_to_xyxy(student_boxes),
                                                  bbox_cxcywh_to_xyxy(teacher_boxes),
                                                  mode='giou'))
    rows, cols = linear_sum_assignment(cost.cpu().numpy())
    device = student_scores.device
    return torch.as_tensor(rows, device=device), torch.as_tensor(cols, device=device)


def matched_logit_losses(student_scores, student_boxes, teacher_probabilities, teacher_boxes,
                         sigmoid: bool, weights: Dict[str, float]) -> Dict[str, torch.Tensor]:
    """One decoder layer's Hungarian-matching logits distillation over a batch.

    Each image's student queries are matched to the teacher's predictions
    (:func:`match_to_teacher`); on the matched pairs, with ``n`` their number over the batch:

    * ``cls = sum_pairs sum_c BCE(x_c, p_c) / n`` (softmax heads: the cross-entropy with the
      teacher's probabilities);
    * ``l1 = sum_pairs |b - b_t|_1 / n`` on normalised ``(cx, cy, w, h)``;
    * ``giou = sum_pairs (1 - GIoU(b, b_t)) / n``.

    Student queries left without a partner (more student than teacher queries) get no loss.

    Args:
        student_scores: (N, Q_s, C) class scores; student_boxes: (N, Q_s, 4).
        teacher_probabilities: (N, Q_t, C) the teacher's class probabilities;
            teacher_boxes: (N, Q_t, 4).
        weights: ``cls``, ``l1``, ``giou``, of the matching cost (the losses are unweighted).
    """
    cls = l1 = giou = student_scores.new_zeros(())
    pairs = 0
    for image in range(len(student_scores)):
        rows, cols = match_to_teacher(student_scores[image], student_boxes[image],
                                      teacher_probabilities[image], teacher_boxes[image],
                                      sigmoid, weights)
        scores, boxes = student_scores[image, rows], student_boxes[image, rows]
        probabilities, targets = teacher_probabilities[image, cols], teacher_boxes[image, cols]
        if sigmoid:
            cls = cls + F.binary_cross_entropy_with_logits(scores, probabilities,
                                                           reduction='sum')
        else:
            cls = cls - (probabilities * F.log_softmax(scores, dim=-1)).sum()
        l1 = l1 + (boxes - targets).abs().sum()
        giou = giou + (1 - bbox_overlaps(bbox_cxcywh_to_xyxy(boxes),
                                         bbox_cxcywh_to_xyxy(targets), mode='giou',
                                         is_aligned=True)).sum()
        pairs += len(rows)
    pairs = max(pairs, 1)
    return dict(cls=cls / pairs, l1=l1 / pairs, giou=giou / pairs)
