from .base import BaseDistiller, check_level_pairs
from .review_kd import ReviewKD

__all__ = ['BaseDistiller', 'check_level_pairs', 'ReviewKD']
