"""Summed squared error per image, the distance of MGD and of FGD's global term."""
import torch


def squared_error_per_image(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``sum (S - T)^2 / N``: summed over channels and positions, averaged over the N images,
    as the MGD and FGD reference code reduce it (``MSELoss(reduction='sum') / N``).

    Summed, not averaged, over positions: the loss grows with the map size, so the weights
    published for COCO-sized maps (800 x 1333 inputs) are far too small for small inputs.

    Args:
        student, teacher: (N, C, H, W) maps of one shape; the teacher is detached.
    """
    return (student - teacher.detach()).pow(2).sum() / student.shape[0]
