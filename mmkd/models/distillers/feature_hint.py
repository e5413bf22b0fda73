"""Hint learning on feature maps (FitNets; Chen et al. 2017 for detection)."""
from typing import Optional, Sequence

import torch.nn.functional as F

from mmkd.registry import MODELS
from .paired_levels import PairedLevelsDistiller

_DISTANCES = {'l2': F.mse_loss, 'l1': F.l1_loss}


@MODELS.register_module()
class FeatureHint(PairedLevelsDistiller):
    """``|| r(V) - Z ||`` per level, ``r`` a 1x1 adaptation conv (also when widths match), on
    the levels the two models share by stride (:func:`pair_levels`).

    Each level's distance is normalised by its element count (a mean), and the levels are
    averaged: Chen et al. (2017) put one hint on the one feature map their heads read, with
    ``gamma = 0.5``; with a feature pyramid the heads read all its levels, so the pyramid is the
    hint layer and ``loss_weight`` keeps the paper's meaning whatever the level count (a sum
    over a 5-level FPN would weigh the hint 5x). Logged as ``loss_hint``.

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): ``gamma``; 0.5 in the paper.
        distance (str): ``'l2'`` (squared, default) or ``'l1'``.
        relu (bool): ReLU after the adaptation conv. Default False.
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
    """

    loss_name = 'loss_hint'
    reduce_levels = 'mean'

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 0.5,
                 distance: str = 'l2', relu: bool = False,
                 strides: Optional[Sequence[int]] = None, init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector='always', relu=relu,
                         init_cfg=init_cfg)
        if distance not in _DISTANCES:
            raise ValueError(f'FeatureHint distance={distance!r}: choose from {list(_DISTANCES)}')
        self.distance = _DISTANCES[distance]

    def level_loss(self, student, teacher):
        return self.distance(student, teacher)
