"""Classification-map mimicking with online hard mining (Jin et al., ICB 2019)."""
from typing import Tuple

import torch
import torch.nn.functional as F

MODES = ('seed', 'adaptive')


def mining_threshold(p_teacher: torch.Tensor, scale: float = 16.2,
                     beta: float = 6.4) -> torch.Tensor:
    """``T(p) = scale * |p - 0.5| ** beta``: 0 at p = 0.5, 0.192 at p = 0 or 1 (defaults)."""
    return scale * (p_teacher - 0.5).abs().pow(beta)


def mining_mask(face_probs_student: torch.Tensor, face_probs_teacher: torch.Tensor,
                mode: str = 'seed', scale: float = 16.2, beta: float = 6.4) -> torch.Tensor:
    """The anchors the rule of ``mode`` selects (bool, the shape of the inputs): ``'seed'``
    ``p_t > T(p_t)``, ``'adaptive'`` ``|p_s - p_t| > T(p_t)``. Reads no gradient."""
    if mode not in MODES:
        raise ValueError(f'mode={mode!r}: choose from {MODES}')
    face_probs_teacher = face_probs_teacher.detach()
    threshold = mining_threshold(face_probs_teacher, scale, beta)
    if mode == 'seed':
        return face_probs_teacher > threshold
    return (face_probs_student.detach() - face_probs_teacher).abs() > threshold


def cls_map_kd_loss(student_probs: torch.Tensor, teacher_probs: torch.Tensor,
                    face_probs_student: torch.Tensor, face_probs_teacher: torch.Tensor,
                    mode: str = 'seed', alpha: float = 50.0, scale: float = 16.2,
                    beta: float = 6.4) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mimic the teacher's probabilities on the anchors the mining rule selects.

    Args:
        student_probs, teacher_probs: (..., K) probabilities compared under the mask: the full
            softmax row (K = 2) for a softmax head, the single sigmoid probability (K = 1) for a
            sigmoid head (whose 2-way view gives the same loss).
        face_probs_student, face_probs_teacher: (...) the foreground probability the rule reads.
        mode: ``'seed'`` keeps anchors with ``p_t > T(p_t)`` (the reference code);
            ``'adaptive'`` those with ``|p_s - p_t| > T(p_t)``.

    Returns:
        ``(alpha * MSE over the selected rows, fraction of anchors selected)``; an empty
        selection gives exactly 0 (with a zero gradient), not NaN. The teacher is detached.
    """
    if mode not in MODES:
        raise ValueError(f'mode={mode!r}: choose from {MODES}')
    mask = mining_mask(face_probs_student, face_probs_teacher, mode, scale, beta)
    fraction = mask.float().mean()
    if not mask.any():
        return student_probs.sum() * 0.0, fraction
    loss = F.mse_loss(student_probs[mask], teacher_probs.detach()[mask])
    return alpha * loss, fraction
