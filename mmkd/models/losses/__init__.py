from .hcl import hcl_loss
from .soft_label import sigmoid_as_two_way, teacher_bounded_l2, weighted_soft_ce

__all__ = ['hcl_loss', 'sigmoid_as_two_way', 'teacher_bounded_l2', 'weighted_soft_ce']
