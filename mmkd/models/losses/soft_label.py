"""Losses of Faster R-CNN hint learning with KD (Chen et al., NeurIPS 2017)."""
from typing import Optional

import torch
import torch.nn.functional as F


def weighted_soft_ce(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                     temperature: float = 1.0,
                     class_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``-sum_c w_c * P_t,c * log P_s,c`` with ``P = softmax(z / T)``, per sample.

    Args:
        student_logits, teacher_logits: (N, C).
        class_weights: (C,), e.g. 1.5 for background and 1 otherwise; None for all ones.

    Returns:
        (N,) losses.
    """
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)
    p_teacher = F.softmax(teacher_logits.detach() / temperature, dim=-1)
    terms = p_teacher * log_p_student
    if class_weights is not None:
        terms = terms * class_weights
    return -terms.sum(dim=-1)


def teacher_bounded_l2(student_reg: torch.Tensor, teacher_reg: torch.Tensor,
                       target: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Per sample: ``||R_s - y||^2`` where ``||R_s - y||^2 + m > ||R_t - y||^2``, else 0.

    The student is pushed only where it regresses worse than the teacher (plus margin).

    Args:
        student_reg, teacher_reg, target: (N, 4) box deltas.

    Returns:
        (N,) losses.
    """
    student_error = ((student_reg - target) ** 2).sum(dim=-1)
    teacher_error = ((teacher_reg.detach() - target) ** 2).sum(dim=-1)
    return torch.where(student_error + margin > teacher_error, student_error,
                       torch.zeros_like(student_error))


def sigmoid_as_two_way(logits: torch.Tensor) -> torch.Tensor:
    """(N,) objectness logits of a sigmoid head -> (N, 2) logits over (background, object).

    ``softmax([0, z]) == [1 - sigmoid(z), sigmoid(z)]``, so the 2-way view is exact.
    """
    return torch.stack([torch.zeros_like(logits), logits], dim=-1)
