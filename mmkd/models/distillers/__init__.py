from .base import BaseDistiller, check_level_pairs
from .feature_hint import FeatureHint
from .frcnn_kd import RoIHeadKD, RPNKD, check_same_anchors
from .review_kd import ReviewKD

__all__ = ['BaseDistiller', 'check_level_pairs', 'FeatureHint', 'RoIHeadKD', 'RPNKD',
           'check_same_anchors', 'ReviewKD']
