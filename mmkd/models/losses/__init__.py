from .cls_map import cls_map_kd_loss, mining_mask, mining_threshold
from .hcl import hcl_loss
from .soft_mask import soft_mask_bce
from .soft_label import sigmoid_as_two_way, teacher_bounded_l2, weighted_soft_ce

__all__ = ['cls_map_kd_loss', 'hcl_loss', 'mining_mask', 'mining_threshold', 'sigmoid_as_two_way',
           'soft_mask_bce', 'teacher_bounded_l2', 'weighted_soft_ce']
