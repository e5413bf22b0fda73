from .alignment import check_same_anchors, check_same_box_coder, paired_heads
from .base import (BaseDistiller, LevelPair, build_distiller, level_strides, pair_levels,
                   registered_distillers)
from .cls_map_kd import ClsMapKD
from .cwd import CWD
from .feature_hint import FeatureHint
from .frcnn_kd import RoIHeadKD, RPNKD
from .mask_kd import MaskHeadKD
from .paired_levels import PairedLevelsDistiller
from .pkd import PKD
from .review_kd import ReviewKD

__all__ = ['BaseDistiller', 'LevelPair', 'build_distiller', 'level_strides', 'pair_levels',
           'registered_distillers',
           'check_same_anchors', 'check_same_box_coder', 'paired_heads', 'ClsMapKD', 'CWD',
           'FeatureHint', 'MaskHeadKD', 'PairedLevelsDistiller', 'PKD', 'RoIHeadKD', 'RPNKD',
           'ReviewKD']
