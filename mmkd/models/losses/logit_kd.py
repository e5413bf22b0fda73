"""Logit distillation (Hinton, Vinyals, Dean, 2015): softened teacher probabilities."""
import torch
import torch.nn.functional as F


def softened_kl(student: torch.Tensor, teacher: torch.Tensor,
                temperature: float = 1.0) -> torch.Tensor:
    """Per row, ``T^2 KL(softmax(t / T) || softmax(s / T))``: (M, C) logits -> (M,). The
    teacher is detached; ``T^2`` keeps the gradient's scale as ``T`` changes."""
    log_p_student = F.log_softmax(student / temperature, dim=-1)
    log_p_teacher = F.log_softmax(teacher.detach() / temperature, dim=-1)
    return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=-1) \
        * temperature ** 2


def sigmoid_softened_kl(student: torch.Tensor, teacher: torch.Tensor,
                        temperature: float = 1.0) -> torch.Tensor:
    """The same for sigmoid classifiers, each class a yes/no distribution of its own: per row,
    ``T^2 sum_c KL(Bernoulli(sigma(t_c / T)) || Bernoulli(sigma(s_c / T)))``, (M, C) -> (M,)."""
    student, teacher = student / temperature, teacher.detach() / temperature
    p_teacher = teacher.sigmoid()
    # log sigma(x) = -softplus(-x), log(1 - sigma(x)) = -softplus(x), stable for large |x|
    kl = p_teacher * (F.softplus(-student) - F.softplus(-teacher)) \
        + (1 - p_teacher) * (F.softplus(student) - F.softplus(teacher))
    return kl.sum(dim=-1) * temperature ** 2
