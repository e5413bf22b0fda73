from .attention_transfer import attention_transfer_distance, spatial_attention
from .cls_map import cls_map_kd_loss, mining_mask, mining_threshold
from .crosskd import (decoded_box_kd, edge_distribution_kd, match_channel_statistics,
                      quality_focal_kd)
from .cwd import channel_wise_divergence
from .fgd import attention_maps, box_masks, focal_losses
from .fsp import flow_matrix, fsp_distance
from .hcl import hcl_loss
from .logit_kd import sigmoid_softened_kl, softened_kl
from .matched_logits import matched_logit_losses, match_to_teacher, soft_class_cost
from .pkd import pearson_distance, standardise_channels
from .query_kd import query_kd_losses, teacher_confidence
from .relations import (normalised_distances, rkd_angle_loss, rkd_distance_loss,
                        similarity_matrix, similarity_preserving_loss, triplet_angles)
from .soft_mask import soft_mask_bce
from .soft_label import sigmoid_as_two_way, teacher_bounded_l2, weighted_soft_ce
from .squared_error import squared_error_per_image
from .target_aware import masked_mse, query_prior_mask, query_quality

__all__ = ['attention_maps', 'attention_transfer_distance', 'box_masks',
           'channel_wise_divergence', 'cls_map_kd_loss', 'decoded_box_kd', 'edge_distribution_kd',
           'flow_matrix', 'focal_losses', 'fsp_distance', 'hcl_loss',
           'match_channel_statistics', 'match_to_teacher', 'matched_logit_losses',
           'masked_mse', 'mining_mask', 'mining_threshold',
           'normalised_distances', 'pearson_distance', 'quality_focal_kd', 'query_kd_losses',
           'query_prior_mask', 'query_quality',
           'rkd_angle_loss', 'rkd_distance_loss', 'sigmoid_as_two_way',
           'sigmoid_softened_kl', 'similarity_matrix', 'similarity_preserving_loss',
           'soft_class_cost', 'soft_mask_bce', 'softened_kl', 'spatial_attention',
           'squared_error_per_image', 'standardise_channels', 'teacher_bounded_l2',
           'teacher_confidence',
           'triplet_angles', 'weighted_soft_ce']
