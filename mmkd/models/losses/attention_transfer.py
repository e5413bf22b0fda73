"""Attention transfer (Zagoruyko and Komodakis, "Paying more attention to attention", ICLR 2017)."""
import torch
import torch.nn.functional as F


def spatial_attention(feat: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """``Q = sum_c |F_c|^p`` per position, flattened and L2-normalised per image.

    Args:
        feat: (N, C, H, W).
        p (float): the power; 2 in the paper's experiments.

    Returns:
        (N, H * W), each row of unit L2 norm.
    """
    return F.normalize(feat.abs().pow(p).sum(dim=1).flatten(1), dim=1)


def attention_transfer_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """The paper's term of one layer pair without ``beta``: ``1/2 * ||Q_S - Q_T||_2 / (H W)``
    averaged over the images, ``Q`` from :func:`spatial_attention` (N, H * W).

    The paper sets ``beta`` to 1000 divided by the elements of the attention map and the batch
    size; the ``1 / (H W)`` and the mean over images are that division, so the distiller's
    weight is the paper's 1000. (The authors' code takes the mean of the *squared* difference
    instead of the norm; the paper wins here.) The teacher's map is detached.
    """
    difference = student - teacher.detach()
    return difference.norm(dim=1).mean() / (2 * student.shape[1])
