"""Soft-target mask distillation."""
import torch
import torch.nn.functional as F


def soft_mask_bce(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                  temperature: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy of ``sigmoid(s / T)`` against the soft target ``sigmoid(t / T)``,
    averaged over RoIs and pixels.

    Args:
        student_logits, teacher_logits: (n, H, W) mask logits of the same RoIs and classes.

    Returns:
        A scalar; 0 when ``n == 0`` (with a zero gradient).
    """
    if student_logits.numel() == 0:
        return student_logits.sum() * 0.0
    target = torch.sigmoid(teacher_logits.detach() / temperature)
    return F.binary_cross_entropy_with_logits(student_logits / temperature, target)
