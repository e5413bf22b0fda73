"""Hierarchical context loss of ReviewKD (Chen et al., CVPR 2021)."""
from typing import Sequence

import torch
import torch.nn.functional as F


def hcl_loss(student: torch.Tensor, teacher: torch.Tensor,
             pool_sizes: Sequence[int] = (4, 2, 1), first_weight: float = 0.5) -> torch.Tensor:
    """HCL for one level pair.

    ``(MSE(A, B) + sum_k w_k MSE(AAP_k(A), AAP_k(B))) / (1 + sum_k w_k)`` where a pool size
    ``k >= H`` is skipped and the weights start at ``first_weight`` and halve with each pooled
    term actually used.

    Args:
        student, teacher: (N, C, H, W) maps of the same shape.

    Returns:
        A scalar tensor.
    """
    if student.shape != teacher.shape:
        raise ValueError(f'HCL needs equal shapes: student {tuple(student.shape)} vs '
                         f'teacher {tuple(teacher.shape)}')
    height = student.shape[2]
    loss = F.mse_loss(student, teacher)
    total_weight, weight = 1.0, first_weight
    for size in pool_sizes:
        if size >= height:
            continue
        loss = loss + weight * F.mse_loss(F.adaptive_avg_pool2d(student, size),
                                          F.adaptive_avg_pool2d(teacher, size))
        total_weight += weight
        weight /= 2
    return loss / total_weight
