"""Channel-wise distillation (Shu, Liu, Gao, Yan, Shen, ICCV 2021)."""
import torch

from .logit_kd import softened_kl


def channel_wise_divergence(student: torch.Tensor, teacher: torch.Tensor,
                            tau: float = 1.0) -> torch.Tensor:
    """``tau^2 / (N C) * sum_{n,c} KL(phi(T_nc) || phi(S_nc))``, ``phi`` the softmax over the
    H*W positions of one channel divided by ``tau``: each channel of the teacher is a
    distribution over places, which the student's channel learns.

    Args:
        student, teacher: (N, C, H, W) maps of one shape; the teacher is detached.
        tau (float): temperature.
    """
    n, c = student.shape[:2]
    return softened_kl(student.reshape(n * c, -1), teacher.reshape(n * c, -1), tau).mean()
