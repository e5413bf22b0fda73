from .alignment import check_same_anchors, check_same_box_coder, paired_heads
from .attention_transfer import AttentionTransfer
from .base import (BaseDistiller, LevelPair, build_distiller, level_strides, pair_levels,
                   registered_distillers)
from .cls_map_kd import ClsMapKD
from .crosskd import CrossKD, RetinaCrossKD
from .cwd import CWD
from .logit_kd import DenseLogitKD
from .feature_hint import FeatureHint
from .fgd import FGD
from .fsp import FSP
from .hungarian_kd import HungarianKD
from .frcnn_kd import RoIHeadKD, RPNKD
from .kd_detr import KDDETR
from .ld import LD
from .mask_kd import MaskHeadKD
from .mgd import MGD
from .object_relations import ObjectRelationDistiller
from .paired_levels import PairedLevelsDistiller
from .query_distiller import QueryDistiller
from .query_prior_kd import QueryPriorAssignmentKD
from .pkd import PKD
from .relative_weight import RelativeLossWeight
from .review_kd import ReviewKD
from .rkd import RKD
from .roi_crosskd import RoICrossKD
from .similarity_preserving import SimilarityPreserving
from .target_aware_kd import TargetAwareFeatureKD

__all__ = ['BaseDistiller', 'LevelPair', 'build_distiller', 'level_strides', 'pair_levels',
           'registered_distillers', 'check_same_anchors', 'check_same_box_coder',
           'paired_heads', 'AttentionTransfer', 'ClsMapKD', 'CrossKD', 'CWD', 'DenseLogitKD',
           'FeatureHint', 'FGD', 'FSP', 'HungarianKD', 'KDDETR', 'LD', 'MaskHeadKD', 'MGD',
           'ObjectRelationDistiller', 'QueryDistiller', 'QueryPriorAssignmentKD',
           'PairedLevelsDistiller', 'PKD', 'RelativeLossWeight', 'RetinaCrossKD', 'RKD',
           'RoICrossKD', 'RoIHeadKD', 'RPNKD', 'ReviewKD', 'SimilarityPreserving',
           'TargetAwareFeatureKD']
