"""Channel-wise distillation (Shu, Liu, Gao, Yan, Shen, ICCV 2021)."""
import torch
import torch.nn.functional as F


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
    log_p_student = F.log_softmax(student.reshape(n * c, -1) / tau, dim=1)
    log_p_teacher = F.log_softmax(teacher.detach().reshape(n * c, -1) / tau, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum()
    return kl * tau ** 2 / (n * c)
