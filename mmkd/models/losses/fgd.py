"""The focal part of focal and global distillation (Yang et al., CVPR 2022)."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F


def attention_maps(feat: torch.Tensor, temperature: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """FGD's spatial and channel attention of a map.

    ``A^S = H W softmax_hw(mean_c |F| / T)`` and ``A^C = C softmax_c(mean_hw |F| / T)``: each
    averages to 1, larger where (or in which channel) the map is strong.

    Args:
        feat: (N, C, H, W).
        temperature (float): ``T``; 0.5 in the paper's detection configs.

    Returns:
        (N, H, W) spatial and (N, C) channel attention.
    """
    n, c, h, w = feat.shape
    magnitude = feat.abs()
    spatial = h * w * F.softmax(magnitude.mean(dim=1).reshape(n, -1) / temperature, dim=1)
    channel = c * F.softmax(magnitude.mean(dim=(2, 3)) / temperature, dim=1)
    return spatial.reshape(n, h, w), channel


def box_masks(boxes: Sequence[torch.Tensor], stride: int,
              size: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """FGD's foreground scale mask and background mask on a map of ``stride``.

    A cell is in a box when the box overlaps it (box edges divided by ``stride``, floored and
    ceiled). Foreground cells weigh ``1 / (h w)``, ``h w`` the cells the box covers, the
    largest over the boxes that cover the cell (small objects count as much as large ones);
    background cells weigh ``1 / N_bg`` of their image, so each image's background sums to 1.
    This is the paper's mask. The authors' code differs in two ways left out here: it scales
    boxes by the unpadded image size onto the padded map, and marks one more row and column
    past the ceiled edge (also in the area).

    Args:
        boxes: per image, (K, 4) boxes (x1, y1, x2, y2) in input pixels.
        stride (int): input pixels per map cell.
        size: the map's (H, W).

    Returns:
        (N, H, W) foreground and background masks.
    """
    height, width = size
    device = boxes[0].device if len(boxes) else None
    foreground = torch.zeros(len(boxes), height, width, device=device)
    for image, image_boxes in enumerate(boxes):
        cells = image_boxes.detach() / stride
        left = cells[:, 0].floor().long().clamp(0, width - 1)
        top = cells[:, 1].floor().long().clamp(0, height - 1)
        right = cells[:, 2].ceil().long().clamp(1, width)
        bottom = cells[:, 3].ceil().long().clamp(1, height)
        for x1, y1, x2, y2 in zip(left.tolist(), top.tolist(), right.tolist(), bottom.tolist()):
            x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
            region = foreground[image, y1:y2, x1:x2]
            region.clamp_(min=1.0 / ((y2 - y1) * (x2 - x1)))
    background = (foreground == 0).float()
    background = background / background.sum(dim=(1, 2), keepdim=True).clamp(min=1)
    return foreground, background


def focal_losses(student: torch.Tensor, teacher: torch.Tensor, foreground: torch.Tensor,
                 background: torch.Tensor,
                 temperature: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """FGD's focal distillation on one level.

    With the teacher's attention ``A^S_T``, ``A^C_T`` (:func:`attention_maps`):
    foreground ``sum M S A^S_T A^C_T (T - S)^2 / N``, background the same with ``(1 - M)``'s
    mask, and the attention loss
    ``(sum |A^C_T - A^C_S| + sum |A^S_T - A^S_S|) / N``.

    Args:
        student, teacher: (N, C, H, W) maps of one shape (the student's aligned); the teacher
            is detached.
        foreground, background: (N, H, W) masks from :func:`box_masks`.
        temperature (float): of the attention.

    Returns:
        The foreground, background and attention losses (scalars, unweighted).
    """
    teacher = teacher.detach()
    n = student.shape[0]
    spatial_t, channel_t = attention_maps(teacher, temperature)
    spatial_s, channel_s = attention_maps(student, temperature)
    weighted_error = ((teacher - student).pow(2) * channel_t[:, :, None, None]).sum(dim=1) \
        * spatial_t
    foreground_loss = (weighted_error * foreground).sum() / n
    background_loss = (weighted_error * background).sum() / n
    attention_loss = ((channel_t - channel_s).abs().sum() + (spatial_t - spatial_s).abs().sum()) / n
    return foreground_loss, background_loss, attention_loss

