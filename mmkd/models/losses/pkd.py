"""Pearson-correlation feature distillation (Cao et al., "PKD", NeurIPS 2022)."""
import torch
import torch.nn.functional as F


def standardise_channels(feat: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """(N, C, H, W) -> the same with each channel at mean 0 and standard deviation 1 over the
    batch and its positions (the sample standard deviation, plus ``eps``)."""
    per_channel = feat.transpose(0, 1).reshape(feat.shape[1], -1)
    mean = per_channel.mean(dim=1, keepdim=True)
    std = per_channel.std(dim=1, keepdim=True)
    standardised = (per_channel - mean) / (std + eps)
    return standardised.reshape(feat.shape[1], feat.shape[0], *feat.shape[2:]).transpose(0, 1)


def pearson_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """MSE between the channel-standardised maps, halved: ``1 - r`` on average over channels,
    ``r`` the Pearson correlation of a student channel with the teacher's (up to the sample
    standard deviation's ``(M - 1) / M``). The teacher is detached."""
    return F.mse_loss(standardise_channels(student),
                      standardise_channels(teacher.detach())) / 2
