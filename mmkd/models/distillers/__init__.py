from .alignment import check_same_anchors
from .base import BaseDistiller, check_level_pairs
from .cls_map_kd import ClsMapKD
from .feature_hint import FeatureHint
from .frcnn_kd import RoIHeadKD, RPNKD
from .mask_kd import MaskHeadKD
from .review_kd import ReviewKD

__all__ = ['BaseDistiller', 'check_level_pairs', 'check_same_anchors', 'ClsMapKD',
           'FeatureHint', 'MaskHeadKD', 'RoIHeadKD', 'RPNKD', 'ReviewKD']
