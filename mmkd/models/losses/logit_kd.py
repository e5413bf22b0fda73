"""Logit distillation (Hinton, Vinyals, Dean, 2015): softened teacher probabilities."""
import torch
import torch.nn.functional as F


def softened_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
                dim: int = -1) -> torch.Tensor:
    """Per row, ``T^2 KL(softmax(t / T) || softmax(s / T))``: logits with the classes along
    ``dim`` ((M, C) by default) -> that dimension reduced ((M,)). The teacher is detached;
    ``T^2`` keeps the gradient's scale as ``T`` changes."""
    log_p_student = F.log_softmax(student / temperature, dim=dim)
    log_p_teacher = F.log_softmax(teacher.detach() / temperature, dim=dim)
    return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=dim) \
        * temperature ** 2


def sigmoid_softened_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0,
                        dim: int = -1) -> torch.Tensor:
    """The same for sigmoid classifiers, each class a yes/no distribution of its own: per row,
    ``T^2 sum_c KL(Bernoulli(sigma(t_c / T)) || Bernoulli(sigma(s_c / T)))``, classes along
    ``dim`` ((M, C) -> (M,) by default).

    With ``q = sigma(t / T)``, ``KL = BCE(s / T, q) - BCE(t / T, q)`` (binary cross-entropy
    on logits, ``softplus(x) - q x``): stable for large logits, and autograd keeps only
    ``s / T`` and ``q`` for the backward, not a tensor per term (a dense head's maps at
    1333x800 are 120 MiB each)."""
    student, teacher = student / temperature, teacher.detach() / temperature
    q = teacher.sigmoid()
    kl = F.binary_cross_entropy_with_logits(student, q, reduction='none') \
        - F.binary_cross_entropy_with_logits(teacher, q, reduction='none')
    return kl.sum(dim=dim) * temperature ** 2
