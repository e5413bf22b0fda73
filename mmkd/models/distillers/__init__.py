from .alignment import check_same_anchors, check_same_box_coder, paired_heads
from .base import (BaseDistiller, LevelPair, build_distiller, level_strides, pair_levels,
                   registered_distillers)
from .cls_map_kd import ClsMapKD
from .feature_hint import FeatureHint
from .frcnn_kd import RoIHeadKD, RPNKD
from .mask_kd import MaskHeadKD
from .review_kd import ReviewKD

__all__ = ['BaseDistiller', 'LevelPair', 'build_distiller', 'level_strides', 'pair_levels',
           'registered_distillers',
           'check_same_anchors', 'check_same_box_coder', 'paired_heads', 'ClsMapKD',
           'FeatureHint', 'MaskHeadKD', 'RoIHeadKD', 'RPNKD', 'ReviewKD']
