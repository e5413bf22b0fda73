from .cls_map import cls_map_kd_loss, mining_mask, mining_threshold
from .cwd import channel_wise_divergence
from .hcl import hcl_loss
from .pkd import pearson_distance, standardise_channels
from .soft_mask import soft_mask_bce
from .soft_label import sigmoid_as_two_way, teacher_bounded_l2, weighted_soft_ce

__all__ = ['channel_wise_divergence', 'cls_map_kd_loss', 'hcl_loss', 'mining_mask',
           'mining_threshold', 'pearson_distance', 'sigmoid_as_two_way', 'soft_mask_bce',
           'standardise_channels', 'teacher_bounded_l2', 'weighted_soft_ce']
