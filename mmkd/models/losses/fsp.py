"""The flow of solution procedure (Yim et al., "A gift from knowledge distillation", CVPR 2017)."""
import torch


def flow_matrix(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """``G_ij = sum_{h,w} F1_i(h, w) F2_j(h, w) / (H W)`` per image: how each channel of one layer
    relates to each channel of a later one of the same spatial size.

    Args:
        first: (N, C1, H, W); second: (N, C2, H, W).

    Returns:
        (N, C1, C2).

    Raises:
        ValueError: the two maps differ in batch or spatial size.
    """
    if first.shape[0] != second.shape[0] or first.shape[-2:] != second.shape[-2:]:
        raise ValueError(f'an FSP matrix needs two maps of one batch and spatial size; got '
                         f'{tuple(first.shape)} and {tuple(second.shape)}')
    height, width = first.shape[-2:]
    return torch.einsum('nihw,njhw->nij', first, second) / (height * width)


def fsp_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``||G_T - G_S||_2^2`` (the squared Frobenius norm) averaged over the images, for
    (N, C1, C2) flow matrices of one layer pair; the teacher's is detached."""
    return (teacher.detach() - student).pow(2).sum(dim=(1, 2)).mean()
