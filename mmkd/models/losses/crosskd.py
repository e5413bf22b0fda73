"""The prediction-mimicking losses of CrossKD (Wang et al., CVPR 2024) for GFL and RetinaNet
heads."""
import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_overlaps

from .logit_kd import softened_kl
from .pkd import standardise_channels


def match_channel_statistics(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """The student's (N, C, H, W) map with each channel moved to the teacher's mean and standard
    deviation over batch and positions (CrossKD's ``align_scale``), so the teacher's layers
    receive inputs of the scale they were trained on. The teacher is detached."""
    per_channel = teacher.detach().transpose(0, 1).reshape(teacher.shape[1], -1)
    mean = per_channel.mean(dim=1)[None, :, None, None]
    std = per_channel.std(dim=1)[None, :, None, None]
    return standardise_channels(student) * std + mean


def quality_focal_kd(student: torch.Tensor, teacher: torch.Tensor, weight: torch.Tensor,
                     avg_factor: float, beta: float = 1.0) -> torch.Tensor:
    """CrossKD's classification KD (a quality focal loss with the teacher's probabilities as
    soft targets): ``sum_{m,c} w_m BCE(s_mc, sigma(t_mc)) |sigma(s_mc) - sigma(t_mc)|^beta /
    avg_factor``, computed in fp32 at least.

    Only the logits and the targets are kept for the backward pass (``QualityFocalKD``):
    autograd would keep six more tensors the size of the logits, 615 MiB more on RetinaNet's
    720-channel class maps at 1333x800, batch 2.

    Args:
        student, teacher: class logits of the same shape: (M, C) for M priors, or a head's maps
            viewed as (N, A, C, H, W).
        weight: the prior weights (0 for ignored priors), broadcastable to the logits: (M, 1),
            or (N, A, 1, H, W).
        avg_factor (float): the divisor (the positives, as the student's own quality focal loss).
        beta (float): focusing exponent, at least 1; 1 in CrossKD's configs.
    """
    if beta < 1:
        raise ValueError(f'quality_focal_kd beta={beta}: must be at least 1 (its gradient is '
                         'infinite where student and teacher agree otherwise)')
    return QualityFocalKD.apply(student, teacher.detach().sigmoid(), weight, beta) / avg_factor


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in fp32, or as it is when already fp32 or fp64."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class QualityFocalKD(torch.autograd.Function):
    """``sum w BCE(s, q) |sigmoid(s) - q|^beta`` over logits ``s`` and soft targets ``q``, with
    its gradient written out, ``w |d|^(beta - 1) (d |d| + beta BCE sign(d) p (1 - p))`` for
    ``p = sigmoid(s)``, ``d = p - q``, so that the backward pass keeps only ``s`` and ``q``. No
    gradient to ``q`` nor ``w``."""

    @staticmethod
    def forward(ctx, student, target, weight, beta):
        ctx.save_for_backward(student, target, weight)
        ctx.beta = beta
        student, target = at_least_fp32(student), at_least_fp32(target)
        focal = (student.sigmoid() - target).abs().pow(beta)
        bce = F.binary_cross_entropy_with_logits(student, target, reduction='none')
        return (bce * focal * weight).sum()

    @staticmethod
    def backward(ctx, grad_output):
        student, target, weight = ctx.saved_tensors
        logits, target, beta = at_least_fp32(student), at_least_fp32(target), ctx.beta
        prob = logits.sigmoid()
        diff = prob - target
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
        grad = diff * diff.abs() + beta * bce * diff.sign() * prob * (1 - prob)
        if beta != 1:
            grad = grad * diff.abs().pow(beta - 1)
        grad = grad * (weight * grad_output)
        return grad.to(student.dtype), None, None, None


def edge_distribution_kd(student: torch.Tensor, teacher: torch.Tensor, weight: torch.Tensor,
                         bins: int, temperature: float = 1.0) -> torch.Tensor:
    """CrossKD's box KD on distribution heads: for each prior and box edge,
    ``T^2 KL(softmax(t / T) || softmax(s / T))`` summed over the ``bins``, times the prior's
    weight; summed over priors, divided by 4 (the edges of a box).

    Args:
        student, teacher: (M, 4 * bins) box-edge logits of M priors.
        weight: (M,) prior weights.
    """
    kl = softened_kl(student.reshape(-1, bins), teacher.reshape(-1, bins), temperature)
    return (kl * weight.repeat_interleave(4)).sum() / 4


def decoded_box_kd(student: torch.Tensor, teacher: torch.Tensor, anchors: torch.Tensor,
                   weight: torch.Tensor, bbox_coder, avg_factor: float) -> torch.Tensor:
    """CrossKD's box KD on delta heads (RetinaNet): both (M, 4) sets of deltas decoded at the
    (M, 4) ``anchors`` by ``bbox_coder``, then ``sum_m w_m (1 - GIoU(b^S_m, b^T_m)) /
    avg_factor`` (the authors' ``GIoULoss`` on the decoded boxes). The teacher is detached.

    Args:
        weight: (M,) prior weights (the teacher's top class probability, 0 where ignored).
    """
    student_boxes = bbox_coder.decode(anchors, student)
    teacher_boxes = bbox_coder.decode(anchors, teacher.detach())
    giou = bbox_overlaps(student_boxes, teacher_boxes, mode='giou', is_aligned=True, eps=1e-6)
    return (weight * (1 - giou)).sum() / avg_factor
